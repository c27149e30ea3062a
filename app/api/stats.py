"""`GET /api/v1/jobs/{id}/stats`: agreement, bias, win rates and ratings (docs/statistics.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from app.api.responses import JOB_RESPONSES, responses
from app.api.schemas import MAX_SEED
from app.api.selection import selection_params
from app.errors import RequestError
from app.http.deps import ApiUser, EngineDep, SessionDep, StatisticsDep
from app.http.params import JobId
from app.jobs.access import load_visible_job
from app.stats.cache import StatisticsParams
from app.stats.data import Selection
from app.stats.report import TABLES, table_csv
from app.stats.service import statistics_answer

router = APIRouter(
    prefix="/api/v1/jobs/{job_id}/stats", tags=["statistics"], responses=JOB_RESPONSES
)
STATS_EXAMPLE = {
    "job_id": 7,
    "filters": {"annotators": [], "kinds": [], "since": None, "until": None, "gold": "include"},
    "seed": 7,
    "bootstrap_rounds": 200,
    "reference_generator": "gpt4_1106_preview",
    "counts": {"judgments": 1610, "parsed": 1605, "comparisons_judged": 805, "annotators": 2},
    "evaluators": [{"annotator": "weighted_alpaca_eval_gpt4_turbo", "human_agreement": 65.7}],
    "agreement": {"n_items": 0},
    "win_rates": [
        {
            "judge": "all",
            "generator": "alpaca-7b",
            "opponent": "gpt4_1106_preview",
            "win_rate": 18.8,
            "standard_error": 1.4,
            "n": 805,
        }
    ],
    "ratings": [
        {"generator": "gpt4_1106_preview", "rating": 1127.3, "low": 1110.2, "high": 1144.9}
    ],
    "calibration": [],
}
RETRY_AFTER_SECONDS = 5


@router.get(
    "",
    summary="Agreement, bias, win rates and Bradley-Terry ratings of a job",
    description="JSON with the parts of docs/statistics.md: `evaluators` (one row per annotator "
    "and one for the humans as a group), `agreement` among humans (on a graded scale also "
    "Krippendorff's ordinal alpha and quadratic weighted kappa), `win_rates` (per judge and "
    "generator pair, with discrete and length-controlled win rates), `ratings` (Elo scale, "
    "seeded bootstrap 95 % intervals), `calibration`, `simulator_validity`. Reports are cached "
    "per job, parameters and judgments: `cache` says how old the report is. A job larger than "
    "`PREFARM_STATS_INLINE_MAX_JUDGMENTS` answers **202** with the last report (or none) while "
    "a background computation brings it up to date: ask again after `Retry-After` seconds. "
    "`format=csv` returns the table named by `table`.",
    responses={
        200: {
            "content": {
                "application/json": {"example": STATS_EXAMPLE},
                "text/csv": {
                    "example": "judge,generator,opponent,win_rate,standard_error,n\n"
                    "all,gpt4_1106_preview,alpaca-7b,81.2,1.4,805\n"
                },
            }
        },
        202: {
            "description": "being computed; the body is the last report, if any, and its age",
            "content": {"application/json": {"example": STATS_EXAMPLE}},
        },
        **responses(404),
    },
)
def read_stats(
    job_id: JobId,
    user: ApiUser,
    session: SessionDep,
    engine: EngineDep,
    statistics: StatisticsDep,
    selection: Annotated[Selection, Depends(selection_params)],
    bootstrap: Annotated[
        int,
        Query(
            ge=0,
            le=10_000,
            description="Bootstrap rounds for the rating intervals "
            "(at most PREFARM_STATS_MAX_BOOTSTRAP, 1000 by default).",
        ),
    ] = 200,
    seed: Annotated[
        int | None, Query(ge=0, le=MAX_SEED, description="Default: the job's seed.")
    ] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    table: Annotated[Literal[TABLES], Query(description="The table `format=csv` returns.")] = (  # type: ignore[valid-type]
        "evaluators"
    ),
) -> Any:
    if bootstrap > statistics.max_bootstrap:
        raise RequestError(
            422,
            "validation_error",
            "too many bootstrap rounds",
            [{"field": "bootstrap", "reason": f"at most {statistics.max_bootstrap}"}],
        )
    job = load_visible_job(session, user, job_id)
    params = StatisticsParams(
        selection=selection,
        seed=job.seed if seed is None else seed,
        reference_generator=job.reference_generator,
        bootstrap_rounds=bootstrap,
        preference_scale=job.preference_scale,
    )
    answer = statistics_answer(
        session, engine, job.id, params, statistics.limits, statistics.background
    )
    pending = answer.state == "computing"
    status = 202 if pending else 200
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if pending else {}
    cache = answer.cache_info()
    if format == "csv":
        headers["X-Prefarm-Statistics-State"] = answer.state
        if cache["age_seconds"] is not None:
            headers["X-Prefarm-Statistics-Age"] = f"{cache['age_seconds']:.0f}"
        return Response(
            table_csv(answer.report, table),
            status_code=status,
            media_type="text/csv; charset=utf-8",
            headers={
                **headers,
                "Content-Disposition": f'attachment; filename="job-{job.id}-{table}.csv"',
            },
        )
    body = {**(answer.report or {"job_id": job.id}), "cache": cache}
    return JSONResponse(body, status_code=status, headers=headers)
