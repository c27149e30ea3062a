"""`prefarm demo`: the whole service on one SQLite file, with accounts, two jobs and judgments."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import typer
from prefarm_client import PrefarmClient, PrefarmError, Progress

from app.config import get_settings
from app.demo.server import BackgroundServer
from app.demo.setup import DemoAccounts, DemoJobs, ensure_accounts, let_raters_rate, load_jobs


def run_demo(
    database: Path, host: str, port: int, *, serve: bool = True, wait_seconds: float = 60.0
) -> None:
    """Run prefarm with demo accounts and jobs on an embedded SQLite database (Ctrl-C stops)."""
    from app.db.engine import make_engine
    from app.db.migrate import upgrade
    from app.observability.logs import configure_logging
    from app.server import create_app

    configure_logging("warning", "text")  # the console is for the instructions below
    url = f"sqlite:///{database.resolve()}"
    settings = get_settings().model_copy(update={"database_url": url})
    engine = make_engine(url)
    upgrade(engine)
    accounts = ensure_accounts(engine)

    server = BackgroundServer(create_app(settings, engine), host, port if serve else 0)
    try:
        base_url = server.start()
    except RuntimeError as exc:
        typer.echo(f"error: {exc}; choose another with --port", err=True)
        raise typer.Exit(code=1) from exc
    try:
        with PrefarmClient(base_url, accounts.researcher_token) as client:
            jobs = load_jobs(client)
            let_raters_rate(engine, jobs.human["id"])
            let_raters_rate(engine, jobs.conversations["id"])
            judged = [
                (job, _wait_for_judgments(client, job, wait_seconds))
                for job in (jobs.baseline, jobs.llm)
                if job is not None
            ]
        shown_url = base_url if serve else f"http://{host}:{port}"
        _print_instructions(shown_url, database, accounts, jobs, judged, serving=serve)
        if serve:
            _serve_until_interrupted(server)
    finally:
        server.stop()
        engine.dispose()


def _wait_for_judgments(client: PrefarmClient, job: dict[str, Any], seconds: float) -> Progress:
    from rich.progress import Progress as Bar

    job_id = job["id"]
    with Bar(transient=True) as bar:
        task = bar.add_task(f"{', '.join(job['annotators'])} judges job {job_id}", total=None)

        def show(progress: Progress) -> None:
            bar.update(task, total=progress.total, completed=progress.done)

        with contextlib.suppress(TimeoutError, PrefarmError):
            client.wait(job_id, timeout=seconds, poll_seconds=0.25, on_progress=show)
    return client.progress(job_id)


def _print_instructions(
    url: str,
    database: Path,
    accounts: DemoAccounts,
    jobs: DemoJobs,
    judged: list[tuple[dict[str, Any], Progress]],
    *,
    serving: bool,
) -> None:
    echo = typer.echo
    echo("")
    echo(f"prefarm demo on {database.resolve()}")
    echo("")
    echo("Logins (passwords are new on every run):")
    for login in accounts.logins:
        echo(f"  {login.role:<10} {login.email:<24} password {login.password}")
    echo("")
    echo(f"Researcher API token: {accounts.researcher_token}")
    echo("")
    for job, progress in judged:
        echo(f"Job {job['id']}: {job['name']}")
        line = f"{progress.done} of {progress.total} comparisons judged"
        if progress.done < progress.total:
            line += " so far (the in-process worker keeps going while the server runs)"
        echo(f"  {line}")
    human_count = jobs.human["progress"]["comparisons"]
    echo(f"Job {jobs.human['id']}: {jobs.human['name']}")
    echo(f"  {human_count} comparisons, 2 raters each, open to both demo raters")
    conversations = jobs.conversations
    echo(f"Job {conversations['id']}: {conversations['name']}")
    echo(
        f"  {conversations['progress']['comparisons']} multi-turn comparisons, judged by "
        "`longest` and open to both demo raters"
    )
    echo("")
    echo(f"Rate (log in as a rater):   {url}/rate")
    echo(f"Dashboard (researcher):     {url}/dashboard")
    echo(f"Admin pages:                {url}/admin")
    echo(f"API docs:                   {url}/docs")
    echo(f"Metrics:                    {url}/metrics")
    echo("")
    echo("From another terminal, as a researcher (over HTTP):")
    echo(f"  export PREFARM_URL={url} PREFARM_TOKEN={accounts.researcher_token}")
    echo(f"  prefarm jobs list && prefarm stats {jobs.baseline['id']}")
    echo("Operator commands (prefarm users, tokens, worker) on this demo's database:")
    echo(f"  export PREFARM_DATABASE_URL=sqlite:///{database.resolve()}")
    echo("")
    if serving:
        echo("Serving; Ctrl-C stops.")
    else:
        echo("Set up (--no-serve); run `prefarm demo` to serve it.")


def _serve_until_interrupted(server: BackgroundServer) -> None:
    try:
        while server.is_alive():
            server.join(0.5)
    except KeyboardInterrupt:
        typer.echo("stopping")
