"""A job's dataset as a streamed HTTP download (the API's export and the dashboard's buttons)."""

from __future__ import annotations

from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from app.errors import RequestError
from app.exports import ExportOptionError, ExportOptions, check_content, export_bytes


def export_download(engine: Engine, job_id: int, options: ExportOptions) -> StreamingResponse:
    """Refuses (422) options the format cannot honour; the rows are read while the response
    streams, on a connection of their own (app.db.session.read_connection)."""
    try:
        options.check()
        check_content(engine, job_id, options)
    except ExportOptionError as exc:
        raise RequestError(
            422,
            "validation_error",
            "this export cannot be written so",
            [{"field": exc.field_name, "reason": exc.reason}],
        ) from exc
    return StreamingResponse(
        export_bytes(engine, job_id, options),
        media_type=options.media_type,
        headers={"Content-Disposition": f'attachment; filename="{options.filename(job_id)}"'},
    )
