"""Where the non-Python parts live: the repo root in a checkout, `app/_resources` in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """`migrations` or `templates`, wherever this installation keeps them."""
    for candidate in (_PACKAGE / "_resources" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"prefarm resource folder {name!r} is missing from this installation")
