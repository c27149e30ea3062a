"""The researcher dashboard pages: job list, job page, progress fragment, disagreements, exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select

from app.dashboard.charts import CHARTS, statistics_charts
from app.db.models import Job, User
from app.db.values import INT32_MAX, INT64_MAX
from app.errors import RequestError, not_found
from app.exports import ExportOptions
from app.exports.options import FileType, Format
from app.http.deps import EngineDep, MaybeLogin, ResearcherLogin, SessionDep, StatisticsDep
from app.http.downloads import export_download
from app.http.pages import render
from app.http.params import ComparisonId, JobId
from app.jobs.access import load_visible_job
from app.jobs.counts import why_counts
from app.jobs.disagreements import comparison_view, disagreements
from app.jobs.summaries import job_page
from app.jobs.work import work_breakdown
from app.resources import resource_dir
from app.stats.cache import StatisticsParams
from app.stats.calibration import below_agreement_floor_excluded
from app.stats.data import Selection
from app.stats.report import TABLES, table_csv
from app.stats.service import StatisticsAnswer, statistics_answer

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
    before: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
) -> Response:
    jobs, next_before = job_page(session, login.user, before)
    return render(
        request,
        "dashboard/jobs.html",
        {"login": login, "jobs": jobs, "next_before": next_before, "first_page": before is None},
    )


@router.get("/dashboard/jobs/{job_id}")
def job_detail(
    request: Request, job_id: JobId, login: ResearcherLogin, session: SessionDep
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


def _dashboard_statistics(
    session: SessionDep, engine: EngineDep, statistics: StatisticsDep, job: Job
) -> StatisticsAnswer:
    """The job page's statistics: every judgment, the job's seed, the API's default rounds."""
    params = StatisticsParams(
        selection=Selection(),
        seed=job.seed,
        reference_generator=job.reference_generator,
        bootstrap_rounds=BOOTSTRAP_ROUNDS,
        preference_scale=job.preference_scale,
    )
    return statistics_answer(
        session, engine, job.id, params, statistics.limits, statistics.background
    )


@router.get("/dashboard/jobs/{job_id}/statistics")
def statistics_fragment(
    request: Request,
    job_id: JobId,
    login: ResearcherLogin,
    session: SessionDep,
    engine: EngineDep,
    statistics: StatisticsDep,
) -> Response:
    """Evaluators, agreement, ratings and win rates with their charts: the cached report, or
    one computed within the time budget, or the last one while the background brings it up to
    date (the page's script asks again)."""
    job = load_visible_job(session, login.user, job_id)
    answer = _dashboard_statistics(session, engine, statistics, job)
    stats = answer.report
    return render(
        request,
        "dashboard/statistics.html",
        {
            "job": job,
            "stats": stats,
            "cache": answer.cache_info(),
            "charts": statistics_charts(stats) if stats is not None else None,
            "chart_tables": {name: table for name, (_, table) in CHARTS.items()},
            "chart_titles": {name: title for name, (title, _) in CHARTS.items()},
            "length_controlled": {
                (row["judge"], row["generator"], row["opponent"]): row
                for row in (stats or {}).get("length_controlled", [])
            },
        },
        status_code=202 if answer.state == "computing" else 200,
    )


def _last_report(answer: StatisticsAnswer, job_id: JobId) -> dict[str, Any]:
    if answer.report is None:
        raise RequestError(
            404, "not_found", f"the statistics of job {job_id} are still being computed"
        )
    return answer.report


@router.get("/dashboard/jobs/{job_id}/charts/{name}.svg")
def chart_download(
    job_id: JobId,
    name: str,
    login: ResearcherLogin,
    session: SessionDep,
    engine: EngineDep,
    statistics: StatisticsDep,
) -> Response:
    """A chart of the job page as an SVG file (from the same report the page shows)."""
    if name not in CHARTS:
        raise not_found(f"chart {name!r}")
    job = load_visible_job(session, login.user, job_id)
    report = _last_report(_dashboard_statistics(session, engine, statistics, job), job.id)
    chart = statistics_charts(report)[name]
    if chart is None:
        raise RequestError(404, "not_found", f"job {job.id} has no data for the {name} chart yet")
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + str(chart),
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="job-{job.id}-{name}.svg"'},
    )


@router.get("/dashboard/jobs/{job_id}/statistics/{table}.csv")
def table_download(
    job_id: JobId,
    table: str,
    login: ResearcherLogin,
    session: SessionDep,
    engine: EngineDep,
    statistics: StatisticsDep,
) -> Response:
    """A statistics table of the job page (a chart's data) as CSV."""
    if table not in TABLES:
        raise not_found(f"table {table!r}")
    job = load_visible_job(session, login.user, job_id)
    report = _last_report(_dashboard_statistics(session, engine, statistics, job), job.id)
    return Response(
        table_csv(report, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="job-{job.id}-{table}.csv"'},
    )


@router.get("/dashboard/jobs/{job_id}/progress")
def progress_fragment(
    request: Request, job_id: JobId, login: ResearcherLogin, session: SessionDep
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
    job_id: JobId,
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
        seed=job.seed,
    )
    return export_download(engine, job.id, options)


@router.get("/dashboard/jobs/{job_id}/disagreements")
def disagreement_list(
    request: Request,
    job_id: JobId,
    login: ResearcherLogin,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
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
    request: Request,
    job_id: JobId,
    comparison_id: ComparisonId,
    login: ResearcherLogin,
    session: SessionDep,
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
