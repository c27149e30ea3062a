"""Results as pandas DataFrames when pandas is installed (it is optional)."""

from __future__ import annotations

from typing import Any


def frame_or_rows(rows: list[dict[str, Any]], as_frame: bool) -> Any:
    """The rows as they are, or as a DataFrame when asked for."""
    if not as_frame:
        return rows
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("as_frame=True needs pandas: pip install pandas") from exc
    return pd.DataFrame.from_records(rows)
