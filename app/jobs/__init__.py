"""Jobs as researchers see them: who may see which, creating and changing them, their counts,
listings, work breakdown and disagreements."""
