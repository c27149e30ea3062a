"""The row schemas of the bulk endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.db.models import LABEL_PREFERENCE, LABELS
from app.db.values import StoredJson, StoredText


class ComparisonRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: StoredText | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Your id for the pair; re-posting it is a no-op. "
        "Left out, the row's content hash serves as its id.",
    )
    instruction: StoredText = Field(min_length=1)
    input: StoredText = ""
    output_1: StoredText
    output_2: StoredText
    generator_1: StoredText = Field("unknown", min_length=1, max_length=200)
    generator_2: StoredText = Field("unknown", min_length=1, max_length=200)
    gold_preference: float | None = Field(None, ge=1, le=2)
    metadata: StoredJson | None = None


class AnnotationRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comparison_id: StoredText = Field(
        min_length=1, max_length=200, description="The comparison's id."
    )
    annotator: StoredText = Field(min_length=1, max_length=200)
    annotator_kind: Literal["human", "simulated"] = "simulated"
    preference: float | None = Field(
        None, ge=1, le=2, description="1 = output_1 better, 2 = output_2 better, 1.5 = tie."
    )
    label: Literal[LABELS] | None = None  # type: ignore[valid-type]
    repeat: int = Field(0, ge=0, le=1000, description="0, or the n-th repeated judgment.")
    shown_swapped: bool | None = None
    rationale: StoredText | None = None
    raw_completion: StoredText | None = None
    cost_usd: float | None = Field(None, ge=0)
    prompt_tokens: int | None = Field(None, ge=0)
    completion_tokens: int | None = Field(None, ge=0)
    latency_ms: float | None = Field(None, ge=0)
    seconds_on_task: float | None = Field(None, ge=0)
    is_noisy_label: bool = False
    metadata: StoredJson | None = None

    @model_validator(mode="after")
    def _preference_or_label(self) -> AnnotationRow:
        if self.preference is None and self.label is None:
            raise ValueError("give a preference, a label, or both")
        if self.preference is None:
            self.preference = LABEL_PREFERENCE[self.label]  # type: ignore[index]
        elif (
            self.label not in (None, "both_bad") and self.preference != LABEL_PREFERENCE[self.label]
        ):
            raise ValueError(f"label {self.label} contradicts preference {self.preference}")
        return self
