"""prefarm: pairwise preference annotation by human raters and simulated LLM annotators."""

__version__ = "0.1.0"
