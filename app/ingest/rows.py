"""The row schemas of the bulk endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.config import Settings
from app.db.messages import candidate_text
from app.db.models import LABEL_PREFERENCE, LABELS
from app.db.values import StoredJson, StoredText, storable_text

# Validation context key for the settings holding the conversation limits (app/ingest/parse.py);
# without it the defaults apply.
SETTINGS_CONTEXT = "settings"
_DEFAULTS = Settings.model_fields


class ChatMessage(BaseModel):
    """One turn of a conversation, in OpenAI's chat shape."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: StoredText


class CandidateMessage(BaseModel):
    """One message of a candidate next turn given as several messages."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["assistant"]
    content: StoredText


def _limit(info: ValidationInfo, name: str) -> int:
    settings = (info.context or {}).get(SETTINGS_CONTEXT)
    value = getattr(settings, name) if settings is not None else _DEFAULTS[name].default
    return int(value)


def _check_count(messages: list[Any], info: ValidationInfo) -> None:
    most = _limit(info, "max_conversation_messages")
    if not messages:
        raise ValueError("a message list holds at least one message")
    if len(messages) > most:
        raise ValueError(f"at most {most} messages (PREFARM_MAX_CONVERSATION_MESSAGES)")


_CANDIDATE_MESSAGES = TypeAdapter(list[CandidateMessage])


def _as_candidate(value: Any) -> str | list[CandidateMessage]:
    """A text, or a list of assistant messages. One validator for both shapes, so an error is
    reported under the field's own name (a plain union would name its branches)."""
    if isinstance(value, str):
        return storable_text(value)
    if not isinstance(value, list):
        raise ValueError("a string, or a list of assistant messages")
    try:
        return _CANDIDATE_MESSAGES.validate_python(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"message {where}: {first['msg']}") from None


Candidate = Annotated[
    str | list[CandidateMessage],
    PlainValidator(_as_candidate),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": CandidateMessage.model_json_schema(), "minItems": 1},
            ]
        }
    ),
]


class ComparisonRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: StoredText | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Your id for the pair; re-posting it is a no-op. "
        "Left out, the row's content hash serves as its id.",
    )
    messages: list[ChatMessage] | None = Field(
        None,
        description="A conversation instead of `instruction`/`input`: system, user and "
        "assistant turns, the last one the user's; the outputs are the next assistant turn.",
    )
    instruction: StoredText | None = Field(None, min_length=1, validate_default=True)
    input: StoredText = ""
    output_1: Candidate = Field(
        description="A text, or a list of assistant messages when the candidate has several."
    )
    output_2: Candidate
    generator_1: StoredText = Field("unknown", min_length=1, max_length=200)
    generator_2: StoredText = Field("unknown", min_length=1, max_length=200)
    gold_preference: float | None = Field(None, ge=1, le=2)
    metadata: StoredJson | None = None

    @field_validator("messages")
    @classmethod
    def _a_conversation(
        cls, messages: list[ChatMessage] | None, info: ValidationInfo
    ) -> list[ChatMessage] | None:
        if messages is None:
            return None
        _check_count(messages, info)
        if messages[-1].role != "user":
            raise ValueError("the last message is the user's: the outputs answer it")
        if any(m.role == "system" for m in messages[1:]):
            raise ValueError("a system message may only come first")
        most = _limit(info, "max_conversation_chars")
        if sum(len(m.content) for m in messages) > most:
            raise ValueError(f"at most {most} characters in all (PREFARM_MAX_CONVERSATION_CHARS)")
        return messages

    @field_validator("instruction")
    @classmethod
    def _instruction_or_messages(cls, instruction: str | None, info: ValidationInfo) -> str | None:
        if "messages" not in info.data:  # messages failed validation; that is reported
            return instruction
        if info.data["messages"] is None and instruction is None:
            raise ValueError("Field required (or give `messages`, a conversation)")
        if info.data["messages"] is not None and instruction is not None:
            raise ValueError("give `instruction` or `messages`, not both")
        return instruction

    @field_validator("input")
    @classmethod
    def _no_input_with_messages(cls, value: str, info: ValidationInfo) -> str:
        if value and info.data.get("messages") is not None:
            raise ValueError("a conversation has no `input`: put it in the messages")
        return value

    @field_validator("output_1", "output_2")
    @classmethod
    def _candidate(cls, output: Candidate, info: ValidationInfo) -> Candidate:
        if isinstance(output, list):
            _check_count(output, info)
        return output

    @property
    def prompt_instruction(self) -> str:
        """The instruction, or a conversation's last user turn."""
        if self.messages is not None:
            return self.messages[-1].content
        return self.instruction or ""

    @property
    def message_dicts(self) -> list[dict[str, str]] | None:
        return [m.model_dump() for m in self.messages] if self.messages is not None else None


def output_text(output: Candidate) -> str:
    """A candidate's text: itself, or its messages joined."""
    if isinstance(output, str):
        return output
    return candidate_text([m.model_dump() for m in output])


def output_messages(output: Candidate) -> list[dict[str, str]] | None:
    return [m.model_dump() for m in output] if isinstance(output, list) else None


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
