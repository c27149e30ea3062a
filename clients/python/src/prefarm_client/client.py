"""A typed Python client for the prefarm API, for scripts, notebooks and the CLI.

Every request it sends is safe to repeat (jobs carry an Idempotency-Key, comparisons and
judgments are keyed by their ids), so connection errors and the answers 429, 502, 503 and 504
are retried with exponential backoff, never sooner than the server's `Retry-After`.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from prefarm_client.files import read_comparisons
from prefarm_client.frames import frame_or_rows

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_BATCH_SIZE = 5000
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A comparison in one of these states needs no more work.
FINISHED_COMPARISON_STATUSES = frozenset({"done", "failed"})
# A job in one of these states takes no more work until someone changes it.
FINISHED_JOB_STATUSES = frozenset({"done", "cancelled", "budget_exhausted"})

Row = Mapping[str, Any]
Rows = Iterable[Row] | Any  # or a pandas DataFrame


class PrefarmError(Exception):
    """An error answer of the API (`{"error": {code, message, details}}`) or no answer at all
    (`status` 0, `code` "unreachable")."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} ({code}, HTTP {status})" if status else message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True)
class SubmitResult:
    received: int
    created: int
    unchanged: int
    batches: int


@dataclass(frozen=True)
class Progress:
    """How far the judging of a job has come, from `GET /api/v1/jobs/{id}`."""

    done: int
    total: int
    job_status: str
    annotations: int

    @property
    def finished(self) -> bool:
        return self.job_status in FINISHED_JOB_STATUSES or (
            self.total > 0 and self.done >= self.total
        )

    @classmethod
    def of(cls, job: Mapping[str, Any]) -> Progress:
        progress = job.get("progress") or {}
        by_status: Mapping[str, int] = progress.get("comparisons_by_status") or {}
        return cls(
            done=sum(n for s, n in by_status.items() if s in FINISHED_COMPARISON_STATUSES),
            total=int(progress.get("comparisons") or 0),
            job_status=str(job.get("status", "")),
            annotations=int(progress.get("annotations") or 0),
        )


def _plain(value: Any) -> Any:
    """JSON for what DataFrame rows hold: numpy scalars and timestamps."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_plain, ensure_ascii=False, allow_nan=False).encode()


def _rows_of(rows: Rows) -> list[dict[str, Any]]:
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a pandas DataFrame
        rows = rows.to_dict(orient="records")
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in rows
    ]


class PrefarmClient:
    """`PrefarmClient()` reads `PREFARM_URL` and `PREFARM_TOKEN` from the environment."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 120.0,
        retries: int = 4,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = (url or os.environ.get("PREFARM_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("PREFARM_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrefarmClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- transport -------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """One request with retries; error answers raise PrefarmError. A streamed response is
        returned open: the caller closes it."""
        for attempt in range(self.retries + 1):
            last_try = attempt == self.retries
            try:
                request = self._http.build_request(method, path, **kwargs)
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if last_try:
                    raise PrefarmError(
                        0, "unreachable", f"cannot reach prefarm at {self.url}: {exc}"
                    ) from exc
                self._sleep(attempt, None)
                continue
            if response.status_code in RETRY_STATUSES and not last_try:
                retry_after = response.headers.get("retry-after")
                response.close()
                self._sleep(attempt, retry_after)
                continue
            if response.is_error:
                response.read()
                response.close()
                raise error_of(response)
            return response
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt)
        delay *= random.uniform(0.5, 1.0)  # jitter: many clients do not retry in step
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(delay)

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = self._send(method, path, **kwargs).json()
        return data

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a keyset-paged list, following `next_cursor`."""
        query = _params(params)
        while True:
            page = self._json("GET", path, params=query)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query["after"] = page["next_cursor"]

    # --- jobs ------------------------------------------------------------------------------

    def create_job(
        self,
        name: str,
        *,
        annotators: Iterable[str] = (),
        routing: str | Mapping[str, Any] = "simulated",
        human_overlap: int = 1,
        budget_usd: float | None = None,
        seed: int = 0,
        reference_generator: str | None = None,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Create a job. Give an `idempotency_key` to make re-running a script create it once.
        With `webhook_url`, the answer holds the `webhook_secret` its calls are signed with."""
        body: dict[str, Any] = {
            "name": name,
            "routing": {"policy": routing} if isinstance(routing, str) else dict(routing),
            "annotators": list(annotators),
            "human_overlap": human_overlap,
            "budget_usd": budget_usd,
            "seed": seed,
            "reference_generator": reference_generator,
        }
        if webhook_url is not None:
            body["webhook_url"] = webhook_url
        key = idempotency_key or uuid.uuid4().hex
        return self._json(
            "POST",
            "/api/v1/jobs",
            content=dumps(body),
            headers={"Idempotency-Key": key, "Content-Type": "application/json"},
        )

    def iter_jobs(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        return self._pages("/api/v1/jobs", {"limit": page_size})

    def list_jobs(self, *, as_frame: bool = False) -> Any:
        return frame_or_rows(list(self.iter_jobs()), as_frame)

    def get_job(self, job_id: int) -> dict[str, Any]:
        return self._json("GET", f"/api/v1/jobs/{job_id}")

    def update_job(self, job_id: int, **fields: Any) -> dict[str, Any]:
        """Change `status`, `name`, `budget_usd`, `routing` or `webhook_url`."""
        return self._json("PATCH", f"/api/v1/jobs/{job_id}", json=fields)

    def delete_job(self, job_id: int) -> None:
        """Delete a job that has no comparisons yet (the server refuses others with 409)."""
        self._send("DELETE", f"/api/v1/jobs/{job_id}").close()

    def pause_job(self, job_id: int) -> dict[str, Any]:
        return self.update_job(job_id, status="paused")

    def resume_job(self, job_id: int) -> dict[str, Any]:
        return self.update_job(job_id, status="active")

    def cancel_job(self, job_id: int) -> dict[str, Any]:
        return self.update_job(job_id, status="cancelled")

    def retry_tasks(
        self, job_id: int, *, failed: bool = True, unparsed: bool = True
    ) -> dict[str, Any]:
        """Put the job's failed tasks (and answers that could not be parsed) back in the queue."""
        return self._json(
            "POST",
            f"/api/v1/jobs/{job_id}/tasks/retry",
            json={"failed": failed, "unparsed": unparsed},
        )

    def progress(self, job_id: int) -> Progress:
        return Progress.of(self.get_job(job_id))

    def wait(
        self,
        job_id: int,
        *,
        timeout: float | None = None,
        poll_seconds: float = 1.0,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> dict[str, Any]:
        """Poll until every comparison of the job is settled, or the job is `done`, `cancelled`
        or `budget_exhausted`.

        `on_progress` is called after every poll. Raises TimeoutError after `timeout` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            progress = Progress.of(job)
            if on_progress is not None:
                on_progress(progress)
            if progress.finished:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"job {job_id}: {progress.done} of {progress.total} comparisons judged "
                    f"after {timeout} s"
                )
            time.sleep(poll_seconds)

    # --- comparisons and judgments ---------------------------------------------------------

    def submit_comparisons(
        self,
        job_id: int,
        rows: Rows,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        ndjson: bool = False,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> SubmitResult:
        """Add comparisons (dicts or a DataFrame) in batches; see `_post_batches`."""
        return self._post_batches(
            f"/api/v1/jobs/{job_id}/comparisons", _rows_of(rows), batch_size, ndjson, on_batch
        )

    def validate_comparisons(
        self,
        rows: Rows,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> int:
        """Check comparisons against the server's rules without storing anything or needing a
        job; raises PrefarmError (`invalid_rows`, rows numbered in your whole input) at the
        first batch with a problem. Returns how many rows were checked."""
        result = self._post_batches(
            "/api/v1/comparisons/validate",
            _rows_of(rows),
            batch_size,
            False,
            on_batch,
            stores=False,
        )
        return result.received

    def submit_file(
        self,
        job_id: int,
        path: str | Path,
        *,
        reference: str | Path | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> SubmitResult:
        """Add the comparisons of a JSONL / CSV / JSON file (see `prefarm_client.files`)."""
        comparisons = read_comparisons(path, reference)
        return self.submit_comparisons(
            job_id, comparisons.rows, batch_size=batch_size, on_batch=on_batch
        )

    def import_annotations(
        self,
        job_id: int,
        rows: Rows,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        ndjson: bool = False,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> SubmitResult:
        """Import judgments made elsewhere (`comparison_id` names a comparison's id)."""
        return self._post_batches(
            f"/api/v1/jobs/{job_id}/annotations", _rows_of(rows), batch_size, ndjson, on_batch
        )

    def _post_batches(
        self,
        path: str,
        rows: list[dict[str, Any]],
        batch_size: int,
        ndjson: bool,
        on_batch: Callable[[int, int], None] | None,
        *,
        stores: bool = True,
    ) -> SubmitResult:
        """Each batch is stored all or nothing. If one fails, the batches before it stay stored;
        posting the same rows again stores only what is missing (ids make it a no-op)."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        received = created = batches = 0
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            if ndjson:
                content = b"".join(dumps(r) + b"\n" for r in batch)
                content_type = "application/x-ndjson"
            else:
                content = dumps(batch)
                content_type = "application/json"
            try:
                result = self._json(
                    "POST", path, content=content, headers={"Content-Type": content_type}
                )
            except PrefarmError as exc:
                raise _in_batch(exc, start, len(batch), stored=stores) from None
            received += result["received"]
            created += result.get("created", 0)
            batches += 1
            if on_batch is not None:
                on_batch(start + len(batch), len(rows))
        return SubmitResult(received, created, received - created, batches)

    def iter_comparisons(
        self,
        job_id: int,
        *,
        status: str | None = None,
        route: str | None = None,
        escalation: str | None = None,
        has_error: bool | None = None,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """A job's comparisons; `escalation` is a reason or `any`, `has_error` keeps those with
        a failed or failing simulated task (each item lists its `errors`)."""
        return self._pages(
            f"/api/v1/jobs/{job_id}/comparisons",
            {
                "limit": page_size,
                "status": status,
                "route": route,
                "escalation": escalation,
                "has_error": has_error,
            },
        )

    def comparisons(self, job_id: int, *, as_frame: bool = False, **filters: Any) -> Any:
        return frame_or_rows(list(self.iter_comparisons(job_id, **filters)), as_frame)

    def iter_annotations(
        self, job_id: int, *, annotator: str | None = None, page_size: int = 1000
    ) -> Iterator[dict[str, Any]]:
        return self._pages(
            f"/api/v1/jobs/{job_id}/annotations", {"limit": page_size, "annotator": annotator}
        )

    def annotations(
        self, job_id: int, *, annotator: str | None = None, as_frame: bool = False
    ) -> Any:
        return frame_or_rows(list(self.iter_annotations(job_id, annotator=annotator)), as_frame)

    # --- annotators ------------------------------------------------------------------------

    def list_annotators(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._json("GET", "/api/v1/annotators")["items"]
        return items

    def get_annotator(self, name: str) -> dict[str, Any]:
        return self._json("GET", f"/api/v1/annotators/{name}")

    def register_annotator(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Register a config (`base_url` / `api_key_env` need an admin's token)."""
        return self._json("POST", "/api/v1/annotators", json=dict(config))

    def validate_annotator(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        comparisons: Iterable[Row] = (),
    ) -> dict[str, Any]:
        """Check a config (or a registered `name`) without registering it: the prompt the judge
        would be sent for a sample comparison (the first of `comparisons`, if given) and what
        1,000 comparisons would cost."""
        body: dict[str, Any] = {"comparisons": _rows_of(comparisons)}
        if config is not None:
            body["config"] = dict(config)
        if name is not None:
            body["name"] = name
        return self._json(
            "POST",
            "/api/v1/annotators/validate",
            content=dumps(body),
            headers={"Content-Type": "application/json"},
        )

    # --- tokens ----------------------------------------------------------------------------

    def list_tokens(self, *, owner: str | None = None) -> list[dict[str, Any]]:
        """Your API tokens (admins: `owner` = an email, or `*` for everyone's)."""
        return list(self._pages("/api/v1/tokens", {"owner": owner, "limit": 1000}))

    def create_token(
        self, name: str = "", *, expires_in_days: float | None = None
    ) -> dict[str, Any]:
        """A new token for yourself; its `token` is shown only in this answer."""
        return self._json(
            "POST", "/api/v1/tokens", json={"name": name, "expires_in_days": expires_in_days}
        )

    def revoke_token(self, token_id: int) -> dict[str, Any]:
        return self._json("DELETE", f"/api/v1/tokens/{token_id}")

    # --- results ---------------------------------------------------------------------------

    def stats(self, job_id: int, *, as_frame: bool = False, **filters: Any) -> dict[str, Any]:
        """`GET /api/v1/jobs/{id}/stats`. With `as_frame`, its tables become DataFrames."""
        stats = self._json("GET", f"/api/v1/jobs/{job_id}/stats", params=_params(filters))
        if not as_frame:
            return stats
        return {
            key: frame_or_rows(value, True) if _is_table(value) else value
            for key, value in stats.items()
        }

    def stats_csv(self, job_id: int, table: str, **filters: Any) -> str:
        """One table of the statistics as CSV text."""
        params = _params({**filters, "format": "csv", "table": table})
        return self._send("GET", f"/api/v1/jobs/{job_id}/stats", params=params).text

    def export(
        self,
        job_id: int,
        out: str | Path,
        *,
        format: str = "alpaca_farm",
        on_bytes: Callable[[int], None] | None = None,
        **options: Any,
    ) -> Path:
        """Stream `GET /api/v1/jobs/{id}/export?format=…` into the file `out` (written to
        `out.part` and renamed when complete). `on_bytes(n)` hears the bytes written so far."""
        out = Path(out)
        params = _params({"format": format, **options})
        response = self._send("GET", f"/api/v1/jobs/{job_id}/export", stream=True, params=params)
        partial = out.with_name(out.name + ".part")
        written = 0
        try:
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
                    written += len(chunk)
                    if on_bytes is not None:
                        on_bytes(written)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            response.close()
        partial.replace(out)
        return out

    def iter_export(
        self, job_id: int, *, format: str = "alpaca_farm", **options: Any
    ) -> Iterator[dict[str, Any]]:
        """The rows of a JSONL export, one dict at a time."""
        params = _params({"format": format, **options})
        response = self._send("GET", f"/api/v1/jobs/{job_id}/export", stream=True, params=params)
        try:
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)
        finally:
            response.close()


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        return value

    return {k: plain(v) for k, v in values.items() if v is not None}


def _is_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def error_of(response: httpx.Response) -> PrefarmError:
    try:
        error = response.json()["error"]
        return PrefarmError(
            response.status_code, error["code"], error["message"], error.get("details")
        )
    except (ValueError, KeyError, TypeError):
        text = response.text[:500] or response.reason_phrase
        return PrefarmError(response.status_code, "http_error", text)


def _in_batch(exc: PrefarmError, start: int, size: int, *, stored: bool) -> PrefarmError:
    """Row numbers of the server count from the batch; make them count from the whole input."""
    details = exc.details
    if isinstance(details, dict) and isinstance(details.get("errors"), list):
        errors = [
            {**e, "row": e["row"] + start} if isinstance(e.get("row"), int) else e
            for e in details["errors"]
        ]
        details = {**details, "errors": errors}
    message = f"rows {start + 1}-{start + size}: {exc.message}"
    if start and stored:
        message += f" (rows 1-{start} were stored; sending them again is a no-op)"
    return PrefarmError(exc.status, exc.code, message, details)
