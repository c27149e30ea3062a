"""Request and response bodies of the v1 API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.db.models import DEFAULT_JOB_PRIORITY, MAX_JOB_PRIORITY
from app.db.scales import ScaleName
from app.db.values import StoredText
from app.jobs.rating_setup import MAX_GUIDELINES_CHARS


class Strict(BaseModel):
    """Unknown fields are errors (a typo must not be silently dropped), and values must have
    their documented JSON type: `1.5` is no integer and `"3"` no number."""

    model_config = ConfigDict(extra="forbid", strict=True)


# Seeds stay exact in every JSON reader (JavaScript's and JSON Schema validators' doubles).
MAX_SEED = 2**53 - 1


def _whole(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; strict validation would not."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer field of a strict model: 3 and 3.0 pass, 3.5, "3" and true do not. (Bounds go in
# an Annotated before the validator, or the JSON schema says `ge` instead of `minimum`.)
WholeNumber = Annotated[int, BeforeValidator(_whole)]

WebhookUrl = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://[^\s/?#]+[^\s]*$",
        description="Called with a signed POST once the job is done (docs/api.md#webhooks).",
    ),
]


class Routing(Strict):
    policy: Literal["human", "simulated", "mixed", "active"] = Field(
        "simulated", description="Who judges: humans, simulated annotators, or a mix."
    )
    human_fraction: float | None = Field(
        None, ge=0, le=1, description="`mixed`: share of comparisons routed to humans."
    )
    calibration_fraction: float | None = Field(
        None, ge=0, le=1, description="`mixed`/`active`: share judged by both humans and LLMs."
    )
    margin: float | None = Field(
        None,
        ge=0,
        le=0.5,
        description="`active`: escalate soft preferences within this of 1.5 (default 0.1).",
    )
    agreement_floor: float | None = Field(
        None, ge=0, le=1, description="`active`: escalate when an annotator agrees less than this."
    )
    human_budget: Annotated[int, Field(ge=0), BeforeValidator(_whole)] | None = Field(
        None, description="`active`: most comparisons escalated to humans."
    )
    export_agreement_floor: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Exports keep only simulated annotators with at least this human agreement.",
    )


class JobCreate(Strict):
    name: StoredText = Field(min_length=1, max_length=200)
    routing: Routing = Field(default_factory=lambda: Routing())
    annotators: list[StoredText] = Field(
        default_factory=list,
        max_length=100,
        description="Names of the simulated annotators (or pools) that judge this job.",
    )
    human_overlap: WholeNumber = Field(
        1, ge=1, le=50, description="Raters per human comparison (k)."
    )
    budget_usd: float | None = Field(None, ge=0, description="Spend at which dispatch stops.")
    seed: WholeNumber = Field(
        0, ge=0, le=MAX_SEED, description="Seeds every random choice of the job."
    )
    reference_generator: StoredText | None = Field(None, max_length=200)
    priority: WholeNumber = Field(
        DEFAULT_JOB_PRIORITY,
        ge=1,
        le=MAX_JOB_PRIORITY,
        description="Weight in the workers' fair share of tasks (1 = default); owners may set up "
        "to PREFARM_JOB_PRIORITY_MAX (10), admins more.",
    )
    preference_scale: ScaleName = Field(
        "binary",
        description="How raters answer: `binary` (A / B / tie / both bad), `llama2_4` (a side and "
        "4 levels, Llama 2's) or `likert_7` (symmetric 7 points). See docs/rating.md.",
    )
    guidelines: StoredText | None = Field(
        None,
        max_length=MAX_GUIDELINES_CHARS,
        description="Rating instructions in Markdown, shown to raters before their first "
        "comparison and on every comparison (`?`).",
    )
    webhook_url: WebhookUrl | None = None

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "alpaca-7b vs gpt-4 turbo",
                    "routing": {"policy": "simulated"},
                    "annotators": ["longest"],
                    "human_overlap": 3,
                    "budget_usd": 25.0,
                    "seed": 7,
                    "reference_generator": "gpt4_1106_preview",
                    "webhook_url": "https://ci.example.org/hooks/prefarm",
                }
            ]
        },
    )


class JobUpdate(Strict):
    status: Literal["active", "paused", "cancelled"] | None = Field(
        None, description="`paused` stops dispatch, `active` resumes, `cancelled` is final."
    )
    name: StoredText | None = Field(None, min_length=1, max_length=200)
    budget_usd: float | None = Field(None, ge=0)
    routing: Routing | None = None
    priority: Annotated[int, Field(ge=1, le=MAX_JOB_PRIORITY), BeforeValidator(_whole)] | None = (
        Field(None, description="Weight in the workers' fair share.")
    )
    preference_scale: ScaleName | None = Field(
        None, description="Refused (409 `scale_locked`) once a rater has judged in the job."
    )
    guidelines: StoredText | None = Field(
        None,
        max_length=MAX_GUIDELINES_CHARS,
        description="New rating instructions (Markdown): a changed text is a new version; "
        "an empty string withdraws them.",
    )
    webhook_url: WebhookUrl | None = Field(
        None, description="A new webhook (and a new secret), or null for none."
    )

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"status": "paused"}, {"budget_usd": 50}, {"priority": 3}]},
    )


_JOB_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "name": "alpaca-7b vs gpt-4 turbo",
    "owner": "ada@example.org",
    "status": "active",
    "routing": {"policy": "simulated"},
    "annotators": ["longest"],
    "human_overlap": 3,
    "budget_usd": 25.0,
    "spent_usd": 3.12,
    "seed": 7,
    "reference_generator": "gpt4_1106_preview",
    "priority": 1,
    "preference_scale": "binary",
    "guidelines_version": 1,
    "created_at": "2026-11-28T09:00:00Z",
    "updated_at": "2026-11-28T09:05:00Z",
    "finished_at": None,
    "webhook_url": "https://ci.example.org/hooks/prefarm",
    "webhook_secret": None,
    "progress": {
        "comparisons": 805,
        "comparisons_by_status": {"pending": 300, "done": 500, "failed": 5},
        "tasks_by_status": {"queued": 300, "done": 500, "failed": 5},
        "escalations_by_reason": {},
        "annotations": 500,
    },
}


class JobProgress(BaseModel):
    comparisons: int
    comparisons_by_status: dict[str, int]
    tasks_by_status: dict[str, int]
    escalations_by_reason: dict[str, int] = Field(
        description="Comparisons an `active` policy sent to humans, by reason."
    )
    annotations: int


class JobOut(BaseModel):
    id: int
    name: str
    owner: str
    status: str
    routing: dict[str, Any]
    annotators: list[str]
    human_overlap: int
    budget_usd: float | None
    spent_usd: float
    seed: int
    reference_generator: str | None
    priority: int
    preference_scale: str
    guidelines_version: int = Field(
        description="The current guidelines version (0: none); the text is at `…/guidelines`."
    )
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = Field(
        None, description="When the job last became `done`; null while it is not."
    )
    webhook_url: str | None = None
    webhook_secret: str | None = Field(
        None,
        description="Only in the answer that set `webhook_url`: the key of the calls' "
        "HMAC-SHA256 signature.",
    )
    progress: JobProgress | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [_JOB_EXAMPLE]})


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = Field(
        description="Pass as `after` for the next page; null at the end."
    )

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_JOB_EXAMPLE], "next_cursor": "v1.7"}]}
    )


class IngestResult(BaseModel):
    received: int = Field(description="Rows in the request.")
    created: int = Field(description="Rows stored by this request.")
    unchanged: int = Field(description="Rows already stored with the same id and content.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"received": 10000, "created": 9990, "unchanged": 10}]}
    )


class TaskErrorOut(BaseModel):
    annotator: str
    status: str = Field(description="`failed`, or `queued` while it waits for another attempt.")
    attempts: int
    error: str


class ValidationResult(BaseModel):
    received: int = Field(description="Rows checked; all of them are valid.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"received": 10000}]})


class ComparisonOut(BaseModel):
    id: str
    instruction: str = Field(description="The instruction, or a conversation's last user turn.")
    input: str
    messages: list[dict[str, str]] | None = Field(
        None, description="A conversation prompt's messages; null for an instruction."
    )
    output_1: str = Field(description="The candidate's text (a multi-message one: joined).")
    output_2: str
    output_1_messages: list[dict[str, str]] | None = Field(
        None, description="A candidate posted as a message list; null for a text."
    )
    output_2_messages: list[dict[str, str]] | None = None
    generator_1: str
    generator_2: str
    gold_preference: float | None
    route: str
    status: str
    escalation: str | None = Field(
        description="Why an `active` policy sent it to humans: disagreement, uncertain, "
        "low_agreement; null if it did not."
    )
    errors: list[TaskErrorOut] = Field(
        description="Errors of its simulated tasks: failed ones and ones waiting for a retry."
    )
    metadata: dict[str, Any] | None
    created_at: datetime


class ComparisonPage(BaseModel):
    items: list[ComparisonOut]
    next_cursor: str | None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "q17",
                            "instruction": "Name three prime numbers.",
                            "input": "",
                            "output_1": "2, 3 and 5.",
                            "output_2": "Prime numbers include 2, 3, 5 and 7.",
                            "generator_1": "alpaca-7b",
                            "generator_2": "gpt4_1106_preview",
                            "gold_preference": None,
                            "route": "simulated",
                            "status": "failed",
                            "escalation": None,
                            "errors": [
                                {
                                    "annotator": "openai_json",
                                    "status": "failed",
                                    "attempts": 5,
                                    "error": "RateLimitError: 429 (after 5 attempts)",
                                }
                            ],
                            "metadata": None,
                            "created_at": "2026-11-28T09:00:00Z",
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )


class AnnotationOut(BaseModel):
    id: int
    comparison_id: str
    annotator: str
    annotator_kind: str
    repeat: int
    preference: float | None
    label: str | None
    shown_swapped: bool | None
    rationale: str | None
    parse_error: str | None
    cost_usd: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float | None
    seconds_on_task: float | None
    is_noisy_label: bool
    source: str
    metadata: dict[str, Any] | None
    created_at: datetime
    strength: int | None = Field(
        None, description="Graded scales: the level chosen (1 = weakest; 0 = the middle)."
    )
    guideline_version: int | None = Field(
        None, description="The job's guidelines version the rater worked under."
    )
    version: int = Field(1, description="Raters' judgments: 2 and up after the rater changed it.")


class AnnotationPage(BaseModel):
    items: list[AnnotationOut]
    next_cursor: str | None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 1,
                            "comparison_id": "q17",
                            "annotator": "weighted_alpaca_eval_gpt4_turbo",
                            "annotator_kind": "simulated",
                            "repeat": 0,
                            "preference": 1.8312,
                            "label": None,
                            "shown_swapped": None,
                            "rationale": None,
                            "parse_error": None,
                            "cost_usd": 0.0081,
                            "prompt_tokens": None,
                            "completion_tokens": None,
                            "latency_ms": 440.6,
                            "seconds_on_task": None,
                            "is_noisy_label": False,
                            "source": "imported",
                            "metadata": None,
                            "created_at": "2026-11-28T09:00:00Z",
                        }
                    ],
                    "next_cursor": "v1.1",
                }
            ]
        }
    )


class GuidelinesVersionOut(BaseModel):
    version: int
    text: str
    author: str | None
    created_at: datetime


class GuidelinesOut(BaseModel):
    current_version: int = Field(description="0 when the job has no guidelines.")
    text: str = Field(description="The current text (Markdown); empty when none.")
    versions: list[GuidelinesVersionOut] = Field(description="Every version, newest first.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "current_version": 2,
                    "text": "Prefer the answer that follows the instruction; ties are fine.",
                    "versions": [
                        {
                            "version": 2,
                            "text": "Prefer the answer that follows the instruction; "
                            "ties are fine.",
                            "author": "ada@example.org",
                            "created_at": "2026-11-28T10:00:00Z",
                        },
                        {
                            "version": 1,
                            "text": "Prefer the better answer.",
                            "author": "ada@example.org",
                            "created_at": "2026-11-27T09:00:00Z",
                        },
                    ],
                }
            ]
        }
    )
