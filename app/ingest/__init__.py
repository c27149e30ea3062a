"""Bulk ingest of comparisons and imported annotations: parse, validate, store all-or-nothing."""
