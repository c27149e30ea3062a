"""`GET /api/v1/jobs/{id}/export`: a streamed dataset (docs/exports.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from app.api.responses import JOB_RESPONSES, responses
from app.api.schemas import MAX_SEED
from app.api.selection import selection_params
from app.exports import ExportOptions
from app.exports.options import FileType, Format
from app.http.deps import ApiUser, EngineDep, SessionDep
from app.http.downloads import export_download
from app.http.params import JobId
from app.jobs.access import load_visible_job
from app.stats.calibration import below_agreement_floor_excluded
from app.stats.data import Selection

router = APIRouter(prefix="/api/v1/jobs/{job_id}/export", tags=["exports"], responses=JOB_RESPONSES)


@router.get(
    "",
    summary="Download a job's judgments as a training dataset (streamed)",
    description="Formats: `annotations` (one line per judgment), `alpaca_farm`, `trl` "
    "(prompt/chosen/rejected; `conversational=true` for message lists), `openai_dpo`, "
    "`hh_rlhf`, `arena` (one battle per judgment, as FastChat reads it). All but `annotations` "
    "and `arena` aggregate each comparison's judgments by `aggregate`. Every line but "
    "`openai_dpo`'s (unless `trace=true`) names its `comparison_id`. `test_fraction` puts a "
    "seeded share of prompts in the test split (no prompt on both sides); `split=train` and "
    "`split=test` give one file per split, to load as a DatasetDict (docs/exports.md).",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The dataset, as an attachment",
            "content": {
                "application/x-ndjson": {
                    "example": '{"prompt": "Name three prime numbers.", "chosen": "2, 3, 5 and '
                    '7.", "rejected": "2, 3 and 5.", "margin": 0.8, "comparison_id": "q17"}\n'
                },
                "text/csv": {"example": "prompt,chosen,rejected,margin,comparison_id\n"},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "(a Parquet file)",
                },
                "application/gzip": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "(gzip of the JSONL or CSV)",
                },
            },
        },
        **responses(422, s422="an option this format cannot honour, or a bad filter"),
    },
)
def export_job(
    job_id: JobId,
    user: ApiUser,
    session: SessionDep,
    engine: EngineDep,
    selection: Annotated[Selection, Depends(selection_params)],
    format: Annotated[Format, Query(description="The dataset format.")],
    file_type: Annotated[FileType, Query(description="jsonl, csv where flat, parquet")] = "jsonl",
    gzip: Annotated[bool, Query(description="gzip the JSONL or CSV stream")] = False,
    aggregate: Annotated[
        Literal["majority", "mean"],
        Query(description="A comparison's verdict: majority vote or mean preference."),
    ] = "majority",
    ties: Annotated[
        Literal["drop", "keep"], Query(description="`keep` only where the format can say tie.")
    ] = "drop",
    min_judgments: Annotated[
        int, Query(ge=1, le=10_000, description="Skip comparisons with fewer parsed judgments.")
    ] = 1,
    test_fraction: Annotated[
        float, Query(ge=0, le=1, description="Share of instructions put in the test split.")
    ] = 0.0,
    split: Annotated[Literal["all", "train", "test"], Query()] = "all",
    split_seed: Annotated[
        int | None, Query(ge=0, le=MAX_SEED, description="Default: the job's seed.")
    ] = None,
    conversational: Annotated[
        bool, Query(description="trl: message lists; arena: add conversation_a/b")
    ] = False,
    trace: Annotated[
        bool,
        Query(description="openai_dpo: add `comparison_id` (not in OpenAI's schema)"),
    ] = False,
) -> StreamingResponse:
    job = load_visible_job(session, user, job_id)
    selection = below_agreement_floor_excluded(session, job, selection)
    options = ExportOptions(
        format=format,
        file_type=file_type,
        gzip=gzip,
        selection=selection,
        aggregate=aggregate,
        ties=ties,
        min_judgments=min_judgments,
        test_fraction=test_fraction,
        split=split,
        split_seed=job.seed if split_seed is None else split_seed,
        conversational=conversational,
        trace=trace,
        seed=job.seed,
    )
    return export_download(engine, job.id, options)
