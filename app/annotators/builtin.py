"""Baselines that need no network: `longest` prefers the longer output, `random` a seeded coin."""

from __future__ import annotations

from app.annotators.seeding import unit_interval


def builtin_preference(model: str, output_1: str, output_2: str, *, seed: int, key: str) -> float:
    if model == "longest":
        if len(output_1) == len(output_2):
            return 1.5
        return 1.0 if len(output_1) > len(output_2) else 2.0
    if model == "random":
        return 1.0 if unit_interval("random", seed, key) < 0.5 else 2.0
    raise ValueError(f"unknown builtin annotator model {model!r}")
