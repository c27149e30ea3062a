"""The researcher dashboard pages: job list, job page, progress fragment, disagreements, exports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select

from app.dashboard.charts import bias_chart, ratings_chart, win_rate_chart
from app.db.models import User
from app.errors import not_found
from app.exports import ExportOptions
from app.exports.options import FileType, Format
from app.http.deps import EngineDep, MaybeLogin, ResearcherLogin, SessionDep
from app.http.downloads import export_download
from app.http.pages import render
from app.jobs.access import load_visible_job
from app.jobs.counts import why_counts
from app.jobs.disagreements import comparison_view, disagreements
from app.jobs.summaries import job_page
from app.jobs.work import work_breakdown
from app.resources import resource_dir
from app.stats.calibration import below_agreement_floor_excluded
from app.stats.data import Selection
from app.stats.report import job_statistics

router = APIRouter(include_in_schema=False)

BOOTSTRAP_ROUNDS = 200  # the stats API's default, so the page and the API show the same intervals
STATIC_FILES = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
# The export buttons: (label, format, file type).
EXPORTS = [
    ("Judgments (JSONL)", "annotations", "jsonl"),
    ("Judgments (CSV)", "annotations", "csv"),
    ("AlpacaFarm (JSONL)", "alpaca_farm", "jsonl"),
    ("TRL (JSONL)", "trl", "jsonl"),
    ("OpenAI DPO (JSONL)", "openai_dpo", "jsonl"),
    ("HH-RLHF (JSONL)", "hh_rlhf", "jsonl"),
    ("Arena (CSV)", "arena", "csv"),
]


@router.get("/")
def home(login: MaybeLogin) -> Response:
    """Where `/` leads: the dashboard for researchers and admins, the rating app for raters."""
    if login is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/rate" if login.user.role == "rater" else "/dashboard", 303)


@router.get("/dashboard/static/{name}")
def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        raise not_found(f"file {name!r}")
    path = resource_dir("templates") / "dashboard" / name
    return FileResponse(path, media_type=STATIC_FILES[name])


@router.get("/dashboard")
def job_list(
    request: Request,
    login: ResearcherLogin,
    session: SessionDep,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    jobs, next_before = job_page(session, login.user, before)
    return render(
        request,
        "dashboard/jobs.html",
        {"login": login, "jobs": jobs, "next_before": next_before, "first_page": before is None},
    )


@router.get("/dashboard/jobs/{job_id}")
def job_detail(
    request: Request, job_id: int, login: ResearcherLogin, session: SessionDep
) -> Response:
    """Progress and exports at once; the page's script then loads the statistics fragment."""
    job = load_visible_job(session, login.user, job_id)
    owner = session.scalar(select(User.email).where(User.id == job.owner_id)) or ""
    return render(
        request,
        "dashboard/job.html",
        {
            "login": login,
            "job": job,
            "owner": owner,
            "progress": work_breakdown(session, job),
            "why": why_counts(session, job.id),
            "exports": EXPORTS,
        },
    )


@router.get("/dashboard/jobs/{job_id}/statistics")
def statistics_fragment(
    request: Request, job_id: int, login: ResearcherLogin, session: SessionDep, engine: EngineDep
) -> Response:
    """Evaluators, agreement, ratings and win rates with their charts (reads every judgment)."""
    job = load_visible_job(session, login.user, job_id)
    stats = job_statistics(
        engine,
        job.id,
        Selection(),
        seed=job.seed,
        reference_generator=job.reference_generator,
        bootstrap_rounds=BOOTSTRAP_ROUNDS,
    )
    return render(
        request,
        "dashboard/statistics.html",
        {
            "stats": stats,
            "ratings_chart": ratings_chart(stats["ratings"]),
            "win_rate_chart": win_rate_chart(stats["win_rates"]),
            "bias_chart": bias_chart(stats["evaluators"]),
        },
    )


@router.get("/dashboard/jobs/{job_id}/progress")
def progress_fragment(
    request: Request, job_id: int, login: ResearcherLogin, session: SessionDep
) -> Response:
    """The live part of the job page; the page's script fetches it every few seconds."""
    job = load_visible_job(session, login.user, job_id)
    return render(
        request,
        "dashboard/progress.html",
        {"job": job, "progress": work_breakdown(session, job), "why": why_counts(session, job.id)},
    )


@router.get("/dashboard/jobs/{job_id}/export")
def export_button(
    job_id: int,
    login: ResearcherLogin,
    session: SessionDep,
    engine: EngineDep,
    format: Annotated[Format, Query()],
    file_type: Annotated[FileType, Query()] = "jsonl",
    aggregate: Annotated[Literal["majority", "mean"], Query()] = "majority",
) -> Response:
    """The API's export streamed to a browser session (the API itself wants a bearer token)."""
    job = load_visible_job(session, login.user, job_id)
    options = ExportOptions(
        format=format,
        file_type=file_type,
        selection=below_agreement_floor_excluded(session, job, Selection()),
        aggregate=aggregate,
        split_seed=job.seed,
    )
    return export_download(engine, job.id, options)


@router.get("/dashboard/jobs/{job_id}/disagreements")
def disagreement_list(
    request: Request,
    job_id: int,
    login: ResearcherLogin,
    session: SessionDep,
    after: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    job = load_visible_job(session, login.user, job_id)
    page = disagreements(session, job.id, after)
    return render(
        request,
        "dashboard/disagreements.html",
        {"login": login, "job": job, "page": page, "after": after},
    )


@router.get("/dashboard/jobs/{job_id}/comparisons/{comparison_id}")
def comparison_page(
    request: Request, job_id: int, comparison_id: int, login: ResearcherLogin, session: SessionDep
) -> Response:
    job = load_visible_job(session, login.user, job_id)
    comparison = comparison_view(session, job.id, comparison_id)
    if comparison is None:
        raise not_found(f"comparison {comparison_id} of job {job_id}")
    return render(
        request,
        "dashboard/comparison.html",
        {"login": login, "job": job, "comparison": comparison},
    )
