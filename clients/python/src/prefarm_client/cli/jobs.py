"""`prefarm jobs …`: drive jobs on a prefarm server over its API (PREFARM_URL, PREFARM_TOKEN)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prefarm_client.cli.common import (
    cell,
    console,
    make_client,
    print_json,
    progress_bar,
    reported_errors,
)
from prefarm_client.cli.plan import estimate, print_plan
from prefarm_client.cli.results import stats

if TYPE_CHECKING:
    from prefarm_client.client import PrefarmClient, SubmitResult
    from prefarm_client.client import Progress as JobProgress

DEFAULT_BATCH_SIZE = 5000

jobs_cli = typer.Typer(
    help="Jobs on a prefarm server, over its API. Set PREFARM_URL (default "
    "http://127.0.0.1:8000) and PREFARM_TOKEN.",
    no_args_is_help=True,
)
jobs_cli.command("stats")(stats)

JobId = Annotated[int, typer.Argument(help="The job's id")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]
AnnotatorNames = Annotated[
    list[str] | None,
    typer.Option("--annotator", "-a", help="A simulated annotator or pool (repeatable)"),
]
Policy = Annotated[str, typer.Option("--routing", help="simulated, human, mixed or active")]
HumanFraction = Annotated[
    float | None, typer.Option(help="mixed: share of comparisons for humans only")
]
CalibrationFraction = Annotated[
    float | None, typer.Option(help="mixed/active: share judged by humans and LLMs")
]
Margin = Annotated[float | None, typer.Option(help="active: escalate preferences this near 1.5")]
AgreementFloor = Annotated[
    float | None, typer.Option(help="active: escalate annotators agreeing less with humans")
]
HumanBudget = Annotated[int | None, typer.Option(help="active: most comparisons escalated")]
ExportFloor = Annotated[
    float | None, typer.Option(help="exports drop annotators agreeing less with humans")
]
HumanOverlap = Annotated[int, typer.Option(help="Raters per human comparison (k)")]
BudgetUsd = Annotated[float | None, typer.Option(help="Stop paid calls once this much is spent")]
Seed = Annotated[int, typer.Option(help="Seeds every random choice of the job")]
WebhookUrl = Annotated[str | None, typer.Option(help="Called (signed) once when the job is done")]


def routing_of(
    policy: str,
    human_fraction: float | None = None,
    calibration_fraction: float | None = None,
    margin: float | None = None,
    agreement_floor: float | None = None,
    human_budget: int | None = None,
    export_agreement_floor: float | None = None,
) -> dict[str, Any]:
    """The API's routing object from the command's options (unset ones left out)."""
    fields = {
        "human_fraction": human_fraction,
        "calibration_fraction": calibration_fraction,
        "margin": margin,
        "agreement_floor": agreement_floor,
        "human_budget": human_budget,
        "export_agreement_floor": export_agreement_floor,
    }
    return {"policy": policy, **{k: v for k, v in fields.items() if v is not None}}


@jobs_cli.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the job is")],
    annotator: AnnotatorNames = None,
    routing: Policy = "simulated",
    human_fraction: HumanFraction = None,
    calibration_fraction: CalibrationFraction = None,
    margin: Margin = None,
    agreement_floor: AgreementFloor = None,
    human_budget: HumanBudget = None,
    export_agreement_floor: ExportFloor = None,
    human_overlap: HumanOverlap = 1,
    budget_usd: BudgetUsd = None,
    seed: Seed = 0,
    reference_generator: Annotated[str | None, typer.Option(help="Win rates against it")] = None,
    webhook_url: WebhookUrl = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Running again with the same key creates nothing new")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Create a job."""
    with reported_errors(), make_client() as client:
        job = client.create_job(
            name,
            annotators=annotator or [],
            routing=routing_of(
                routing,
                human_fraction,
                calibration_fraction,
                margin,
                agreement_floor,
                human_budget,
                export_agreement_floor,
            ),
            human_overlap=human_overlap,
            budget_usd=budget_usd,
            seed=seed,
            reference_generator=reference_generator,
            webhook_url=webhook_url,
            idempotency_key=idempotency_key,
        )
    if as_json:
        print_json(job)
        return
    typer.echo(f"job {job['id']}: {job['name']} ({job['status']})")
    _show_webhook_secret(job)


def _show_webhook_secret(job: dict[str, Any]) -> None:
    if job.get("webhook_secret"):
        typer.echo(
            f"webhook secret (shown once; it signs the calls to {job['webhook_url']}): "
            f"{job['webhook_secret']}"
        )


@jobs_cli.command("list")
def list_jobs(as_json: AsJson = False) -> None:
    """List your jobs (all jobs for admins)."""
    from rich.table import Table

    with reported_errors(), make_client() as client:
        jobs = client.list_jobs()
    if as_json:
        print_json(jobs)
        return
    shown = Table("id", "name", "status", "annotators", "owner", "created", "finished")
    for job in jobs:
        shown.add_row(
            str(job["id"]),
            job["name"],
            job["status"],
            ", ".join(job["annotators"]) or job["routing"].get("policy", ""),
            job["owner"],
            job["created_at"][:19].replace("T", " "),
            (job.get("finished_at") or "")[:19].replace("T", " "),
        )
    console.print(shown)


@jobs_cli.command("show")
def show(job: JobId) -> None:
    """A job with its progress counts, as JSON."""
    with reported_errors(), make_client() as client:
        print_json(client.get_job(job))


def _change_status(job: int, status: str) -> None:
    with reported_errors(), make_client() as client:
        updated = client.update_job(job, status=status)
    typer.echo(f"job {updated['id']}: {updated['status']}")


@jobs_cli.command("pause")
def pause(job: JobId) -> None:
    """Stop handing out the job's work."""
    _change_status(job, "paused")


@jobs_cli.command("resume")
def resume(job: JobId) -> None:
    """Hand out the job's work again."""
    _change_status(job, "active")


@jobs_cli.command("cancel")
def cancel(job: JobId) -> None:
    """Stop the job for good."""
    _change_status(job, "cancelled")


@jobs_cli.command("retry")
def retry(
    job: JobId,
    failed: Annotated[bool, typer.Option(help="Re-queue failed tasks")] = True,
    unparsed: Annotated[
        bool, typer.Option(help="Ask again where the answer was unparsable")
    ] = True,
) -> None:
    """Put the job's failed tasks and unparsed answers back in the queue."""
    with reported_errors(), make_client() as client:
        result = client.retry_tasks(job, failed=failed, unparsed=unparsed)
    typer.echo(
        f"job {job}: {result['requeued_failed']} failed tasks and "
        f"{result['requeued_unparsed']} unparsed answers queued again"
    )


@jobs_cli.command("comparisons")
def comparisons(
    job: JobId,
    status: Annotated[str | None, typer.Option(help="pending, done or failed")] = None,
    escalation: Annotated[
        str | None, typer.Option(help="A reason (disagreement, uncertain, low_agreement) or any")
    ] = None,
    has_error: Annotated[
        bool | None, typer.Option("--has-error", help="Only comparisons whose tasks failed")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Comparisons with why they are where they are: escalation reasons and task errors."""
    from rich.table import Table

    with reported_errors(), make_client() as client:
        rows = client.comparisons(job, status=status, escalation=escalation, has_error=has_error)
    if as_json:
        print_json(rows)
        return
    shown = Table("id", "route", "status", "escalation", "errors")
    for row in rows:
        errors = "; ".join(f"{e['annotator']}: {e['error']}" for e in row.get("errors") or [])
        shown.add_row(row["id"], row["route"], row["status"], cell(row.get("escalation")), errors)
    console.print(shown)


@jobs_cli.command("wait")
def wait(
    job: JobId,
    timeout: Annotated[float | None, typer.Option(help="Give up after seconds")] = None,
    poll_seconds: Annotated[float, typer.Option(help="How often to ask")] = 1.0,
) -> None:
    """Show a progress bar (with an estimate of the time left) until the job is finished."""
    with reported_errors(), make_client() as client:
        final = wait_with_bar(client, job, timeout, poll_seconds)
    _report_final(job, final)


def _report_final(job: int, final: JobProgress) -> None:
    typer.echo(
        f"job {job}: {final.done} of {final.total} comparisons judged, "
        f"{final.annotations} judgments ({final.job_status})"
    )


def _new_job_key(path: Path, body: dict[str, Any]) -> str:
    """The same file submitted with the same options reuses its job instead of making another."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode())
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"cli-submit-{digest.hexdigest()[:40]}"


@jobs_cli.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(help=".jsonl, .csv or .json (optionally .gz)")],
    job: Annotated[int | None, typer.Option(help="Add to this job; default: a new job")] = None,
    name: Annotated[str | None, typer.Option(help="New job's name; default: file name")] = None,
    annotator: AnnotatorNames = None,
    routing: Policy = "simulated",
    human_fraction: HumanFraction = None,
    calibration_fraction: CalibrationFraction = None,
    margin: Margin = None,
    agreement_floor: AgreementFloor = None,
    human_budget: HumanBudget = None,
    export_agreement_floor: ExportFloor = None,
    human_overlap: HumanOverlap = 1,
    budget_usd: BudgetUsd = None,
    seed: Seed = 0,
    webhook_url: WebhookUrl = None,
    reference: Annotated[
        Path | None,
        typer.Option(help="AlpacaEval reference outputs; FILE is then the model's outputs"),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Comparisons per request")] = DEFAULT_BATCH_SIZE,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check the file, print the plan and its estimated cost; send no work"
        ),
    ] = False,
    wait: Annotated[bool, typer.Option(help="Show a progress bar until all are judged")] = False,
    timeout: Annotated[float | None, typer.Option(help="Give up waiting after seconds")] = None,
    poll_seconds: Annotated[float, typer.Option(help="How often --wait asks")] = 1.0,
) -> None:
    """Add a file of comparisons to a job (a new one unless --job), optionally wait for them.

    Every row is checked by the server before anything is stored or a job is made, so a file
    with a bad row leaves nothing behind. Comparisons are keyed by their `id`: running the same
    command again adds nothing twice.
    """
    from prefarm_client.files import read_comparisons

    with reported_errors():
        comparisons = read_comparisons(file, reference)
        if comparisons.unmatched:
            typer.echo(
                f"note: {comparisons.unmatched} instructions are answered by only one "
                "generator and are left out",
                err=True,
            )
        rows = comparisons.rows
        with make_client() as client:
            _check(client, rows, batch_size)
            body: dict[str, Any] = {
                "name": name or file.name,
                "annotators": annotator or [],
                "routing": routing_of(
                    routing,
                    human_fraction,
                    calibration_fraction,
                    margin,
                    agreement_floor,
                    human_budget,
                    export_agreement_floor,
                ),
                "human_overlap": human_overlap,
                "budget_usd": budget_usd,
                "seed": seed,
                # AlpacaEval pairs: win rates against the reference outputs' generator
                "reference_generator": comparisons.generators[0]
                if comparisons.generators
                else None,
            }
            if webhook_url is not None:
                body["webhook_url"] = webhook_url
            if dry_run:
                planned = body if job is None else client.get_job(job)
                print_plan(estimate(client, planned, rows), planned.get("budget_usd"))
                typer.echo("dry run: no job created, nothing stored or sent to a judge")
                return
            job_id, created = job, False
            if job_id is None:
                job_id, created = _create_for(client, file, body)
            result = _upload_or_undo(client, job_id, rows, batch_size, created)
            typer.echo(
                f"job {job_id}: {result.created} comparisons added, "
                f"{result.unchanged} already there"
            )
            if wait:
                _report_final(job_id, wait_with_bar(client, job_id, timeout, poll_seconds))


def _check(client: PrefarmClient, rows: list[dict[str, Any]], batch_size: int) -> None:
    """Every row through the server's validation, before anything is stored."""
    with progress_bar(transient=True) as bar:
        task = bar.add_task("checking", total=len(rows), note="")
        client.validate_comparisons(
            rows,
            batch_size=batch_size,
            on_batch=lambda checked, _total: bar.update(task, completed=checked),
        )


def _create_for(client: PrefarmClient, file: Path, body: dict[str, Any]) -> tuple[int, bool]:
    """The new job's id, and whether this command made it (not a replay of an earlier run)."""
    created = client.create_job(**body, idempotency_key=_new_job_key(file, body))
    typer.echo(f"job {created['id']}: {created['name']}")
    _show_webhook_secret(created)
    is_new = created.get("progress", {}).get("comparisons", 0) == 0
    return int(created["id"]), is_new


def _upload_or_undo(
    client: PrefarmClient,
    job: int,
    rows: list[dict[str, Any]],
    batch_size: int,
    created: bool,
) -> SubmitResult:
    """Upload with a bar. If the upload is refused and this command made the job, which is
    still empty, the job is deleted again: a refused upload leaves nothing behind."""
    from prefarm_client.client import PrefarmError

    try:
        with progress_bar() as bar:
            task = bar.add_task("uploading", total=len(rows), note="")
            return client.submit_comparisons(
                job,
                rows,
                batch_size=batch_size,
                on_batch=lambda sent, _total: bar.update(task, completed=sent),
            )
    except PrefarmError:
        if created:
            try:
                client.delete_job(job)
                typer.echo(f"job {job} deleted again: the upload was refused", err=True)
            except PrefarmError:
                pass  # some rows were stored after all: the job stays, the error is shown
        raise


def wait_with_bar(
    client: PrefarmClient, job: int, timeout: float | None, poll_seconds: float
) -> JobProgress:
    last: list[JobProgress] = []
    with progress_bar() as bar:
        task = bar.add_task("judging", total=None, note="")

        def show(progress: JobProgress) -> None:
            last.append(progress)
            bar.update(
                task,
                total=progress.total,
                completed=progress.done,
                note=f"{progress.annotations} judgments, job {progress.job_status}",
            )

        client.wait(job, timeout=timeout, poll_seconds=poll_seconds, on_progress=show)
    return last[-1]
