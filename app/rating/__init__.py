"""Human rating: which comparison a rater gets, assignments, judgments, quality control."""
