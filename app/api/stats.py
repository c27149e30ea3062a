"""`GET /api/v1/jobs/{id}/stats`: agreement, bias, win rates and ratings (docs/statistics.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from app.api.responses import JOB_RESPONSES, responses
from app.api.schemas import MAX_SEED
from app.api.selection import selection_params
from app.http.deps import ApiUser, EngineDep, SessionDep
from app.jobs.access import load_visible_job
from app.stats.data import Selection
from app.stats.report import TABLES, job_statistics, table_csv

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


@router.get(
    "",
    summary="Agreement, bias, win rates and Bradley-Terry ratings of a job",
    description="JSON with four parts: `evaluators` (one row per annotator and one for the "
    "humans as a group: human agreement, price and seconds per 1000, bias, variance, "
    "P(prefers output_1 / the side shown first / the longer output / lists), share parsed), "
    "`agreement` among humans (percent, Cohen, Fleiss, Krippendorff's alpha, Gwet's AC1), "
    "`win_rates` (per judge and generator pair, against the job's reference generator where "
    "it is in the pair) and `ratings` (Elo scale, seeded bootstrap 95 % intervals). "
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
        **responses(404),
    },
)
def read_stats(
    job_id: int,
    user: ApiUser,
    session: SessionDep,
    engine: EngineDep,
    selection: Annotated[Selection, Depends(selection_params)],
    bootstrap: Annotated[
        int, Query(ge=0, le=2000, description="Bootstrap rounds for the rating intervals.")
    ] = 200,
    seed: Annotated[
        int | None, Query(ge=0, le=MAX_SEED, description="Default: the job's seed.")
    ] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    table: Annotated[Literal[TABLES], Query(description="The table `format=csv` returns.")] = (  # type: ignore[valid-type]
        "evaluators"
    ),
) -> Any:
    job = load_visible_job(session, user, job_id)
    report = job_statistics(
        engine,
        job.id,
        selection,
        seed=job.seed if seed is None else seed,
        reference_generator=job.reference_generator,
        bootstrap_rounds=bootstrap,
    )
    if format == "csv":
        return Response(
            table_csv(report, table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="job-{job.id}-{table}.csv"'},
        )
    return JSONResponse(report)
