"""Which exports cannot carry a job's conversations, found before the first byte is sent."""

from __future__ import annotations

from sqlalchemy import Connection, exists, select

from app.db.models import Comparison, Instruction
from app.exports.options import ExportOptionError, ExportOptions

ALPACA_FARM_REFUSAL = (
    "this job has conversation prompts and AlpacaFarm's format holds an instruction and an "
    "input only; export it as trl (conversational=true), openai_dpo, hh_rlhf or arena"
)
FLAT_TRL_REFUSAL = (
    "this job has conversation prompts, which a string `prompt` cannot hold; "
    "ask for conversational=true"
)


def _refusal(options: ExportOptions) -> ExportOptionError | None:
    if options.format == "alpaca_farm":
        return ExportOptionError("format", ALPACA_FARM_REFUSAL)
    if options.format == "trl" and not options.conversational:
        return ExportOptionError("conversational", FLAT_TRL_REFUSAL)
    return None


def has_conversations(connection: Connection, job_id: int) -> bool:
    return bool(
        connection.scalar(
            select(
                exists()
                .where(Comparison.job_id == job_id)
                .where(Instruction.id == Comparison.instruction_id)
                .where(Instruction.messages.is_not(None))
            )
        )
    )


def check_job_content(connection: Connection, job_id: int, options: ExportOptions) -> None:
    """Raise ExportOptionError if the job has conversations and the format cannot hold them."""
    refusal = _refusal(options)
    if refusal is not None and has_conversations(connection, job_id):
        raise refusal
