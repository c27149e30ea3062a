"""Seeded, process-independent choices: which side is shown first, which pool member judges,
and whether a training pool's label is replaced by noise.

Every choice is a SHA-256 of the job seed and the comparison's content key, never Python's
`hash()`, so any process on any machine makes the same choice, and the same pair in two jobs
with the same seed renders the same prompt (and hits the same cache entry).
"""

from __future__ import annotations

import hashlib
import uuid


def uuid_hex(value: object) -> str:
    """UUIDs come back as uuid.UUID (PostgreSQL) or 32-hex text (SQLite)."""
    if isinstance(value, uuid.UUID):
        return value.hex
    return str(value).replace("-", "").lower()


def comparison_key(instruction_id: object, output_1_id: object, output_2_id: object) -> str:
    """The pair's content identity: the same texts give the same key in every job."""
    return ":".join(uuid_hex(v) for v in (instruction_id, output_1_id, output_2_id))


def unit_interval(*parts: object) -> float:
    """A uniform number in [0, 1) determined by the parts."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def shown_swapped(seed: int, key: str, annotator: str, *, randomize: bool) -> bool:
    """True when output_2 is shown first (as A)."""
    return randomize and unit_interval("order", seed, key, annotator) < 0.5


def pool_member(seed: int, pool: str, key: str, members: list[str]) -> str:
    return members[int(unit_interval("pool", seed, pool, key) * len(members))]


def noisy_preference(seed: int, key: str, annotator: str, p_label_flip: float) -> float | None:
    """AlpacaFarm's label noise: with probability 2p a fair coin (1.0 or 2.0) replaces the judge."""
    if p_label_flip <= 0 or unit_interval("noise", seed, key, annotator) >= 2 * p_label_flip:
        return None
    return 1.0 if unit_interval("coin", seed, key, annotator) < 0.5 else 2.0


def to_comparison_frame(shown_preference: float, swapped: bool) -> float:
    """Map a preference over (A, B) as shown back to (output_1, output_2)."""
    return 3.0 - shown_preference if swapped else shown_preference


def label_for(preference: float) -> str:
    if preference < 1.5:
        return "output_1"
    return "output_2" if preference > 1.5 else "tie"
