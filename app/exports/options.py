"""What an export is asked for, and which file types each dataset format can be written as."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.stats.data import Selection

Format = Literal["annotations", "alpaca_farm", "trl", "openai_dpo", "hh_rlhf", "arena"]
FileType = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[str, ...] = ("annotations", "alpaca_farm", "trl", "openai_dpo", "hh_rlhf", "arena")
# One line per judgment; the others aggregate the judgments of each comparison into one line.
PER_JUDGMENT = ("annotations", "arena")
FILE_TYPES: dict[str, tuple[str, ...]] = {
    "annotations": ("jsonl", "csv", "parquet"),
    "alpaca_farm": ("jsonl", "csv"),
    "trl": ("jsonl", "csv", "parquet"),
    "openai_dpo": ("jsonl",),
    "hh_rlhf": ("jsonl", "csv"),
    "arena": ("jsonl", "csv"),
}
# Formats that can say "tie"; the others always drop tied comparisons. alpaca_farm cannot:
# AlpacaFarm's reward-model preprocessing maps preference {1: 0, 2: 1} (a KeyError on 1.5) and its
# DPO preprocessing turns 1.5 into chosen == rejected.
TIE_CAPABLE = ("arena",)
TIE_REFUSALS = {
    "alpaca_farm": "AlpacaFarm reads preference 1 or 2 only: its reward-model preprocessing "
    "rejects 1.5 and its DPO preprocessing would make chosen == rejected; only arena can say tie",
}


class ExportOptionError(ValueError):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


@dataclass(frozen=True)
class ExportOptions:
    format: Format
    file_type: FileType = "jsonl"
    gzip: bool = False
    selection: Selection = field(default_factory=Selection)
    aggregate: Literal["majority", "mean"] = "majority"
    ties: Literal["drop", "keep"] = "drop"
    min_judgments: int = 1
    test_fraction: float = 0.0
    split: Literal["all", "train", "test"] = "all"
    split_seed: int = 0
    conversational: bool = False
    # openai_dpo: add comparison_id, a key OpenAI's schema does not have.
    trace: bool = False
    # The job's seed: which side arena calls model_a when the judge's shown order is unknown.
    seed: int = 0

    def check(self) -> None:
        """Raise ExportOptionError for a combination that cannot be written."""
        if self.format not in FORMATS:
            raise ExportOptionError("format", f"one of {', '.join(FORMATS)}")
        for name, value, allowed_values in (
            ("aggregate", self.aggregate, ("majority", "mean")),
            ("ties", self.ties, ("drop", "keep")),
            ("split", self.split, ("all", "train", "test")),
        ):
            if value not in allowed_values:
                raise ExportOptionError(name, f"one of {', '.join(allowed_values)}")
        if self.file_type not in FILE_TYPES[self.format]:
            allowed = ", ".join(FILE_TYPES[self.format])
            raise ExportOptionError("file_type", f"{self.format} is written as {allowed}")
        if self.format in ("trl", "arena") and self.conversational and self.file_type == "csv":
            raise ExportOptionError(
                "file_type", f"conversational {self.format} rows are not flat: no CSV"
            )
        if self.gzip and self.file_type == "parquet":
            raise ExportOptionError("gzip", "Parquet is compressed inside; gzip is for jsonl/csv")
        if self.ties == "keep" and self.format not in TIE_CAPABLE:
            raise ExportOptionError(
                "ties",
                TIE_REFUSALS.get(
                    self.format,
                    f"{self.format} has no way to say tie; only {', '.join(TIE_CAPABLE)} can",
                ),
            )
        if self.min_judgments < 1:
            raise ExportOptionError("min_judgments", "at least 1")
        if not 0 <= self.test_fraction <= 1:
            raise ExportOptionError("test_fraction", "between 0 and 1")
        if self.split != "all" and self.test_fraction == 0:
            raise ExportOptionError("split", "choose a test_fraction above 0 to split")

    @property
    def media_type(self) -> str:
        if self.gzip:
            return "application/gzip"
        return {
            "jsonl": "application/x-ndjson",
            "csv": "text/csv; charset=utf-8",
            "parquet": "application/vnd.apache.parquet",
        }[self.file_type]

    def filename(self, job_id: int) -> str:
        part = f"-{self.split}" if self.split != "all" else ""
        return f"job-{job_id}-{self.format}{part}.{self.file_type}" + (".gz" if self.gzip else "")
