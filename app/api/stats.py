"""`GET /api/v1/jobs/{id}/stats`: agreement, bias, win rates and ratings (docs/statistics.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from app.api.selection import selection_params
from app.http.deps import ApiUser, EngineDep, SessionDep
from app.jobs.access import load_visible_job
from app.stats.data import Selection
from app.stats.report import TABLES, job_statistics, table_csv

router = APIRouter(prefix="/api/v1/jobs/{job_id}/stats", tags=["statistics"])


@router.get(
    "",
    summary="Agreement, bias, win rates and Bradley-Terry ratings of a job",
    description="JSON with four parts: `evaluators` (one row per annotator and one for the "
    "humans as a group: human agreement, price and seconds per 1000, bias, variance, "
    "P(prefers output_1 / the side shown first / the longer output / lists), share parsed), "
    "`agreement` among humans (percent, Cohen, Fleiss, Krippendorff's alpha, Gwet's AC1; on a "
    "graded scale also Krippendorff's ordinal alpha and quadratic weighted kappa), "
    "`win_rates` (per judge and generator pair, against the job's reference generator where "
    "it is in the pair) and `ratings` (Elo scale, seeded bootstrap 95 % intervals). "
    "`format=csv` returns the table named by `table`.",
    responses={200: {"content": {"text/csv": {}}}},
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
        int | None, Query(ge=0, le=2**62, description="Default: the job's seed.")
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
        preference_scale=job.preference_scale,
    )
    if format == "csv":
        return Response(
            table_csv(report, table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="job-{job.id}-{table}.csv"'},
        )
    return JSONResponse(report)
