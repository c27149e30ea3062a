"""Path parameters that name rows, shared by every router: an id outside the range of its
column (`/api/v1/jobs/99999999999`) is a 422 on any database instead of an overflow in SQL."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path

from app.db.values import INT32_MAX, INT64_MAX

JobId = Annotated[int, Path(ge=1, le=INT32_MAX, description="The job's id.")]
UserId = Annotated[int, Path(ge=1, le=INT32_MAX, description="The account's id.")]
ComparisonId = Annotated[
    int, Path(ge=1, le=INT64_MAX, description="The comparison's id (the database's, not yours).")
]
TokenId = Annotated[int, Path(ge=1, le=INT32_MAX, description="The token's id.")]
AssignmentId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The assignment's id.")]
OptionalAssignmentIdField = Annotated[int | None, Form(ge=1, le=INT64_MAX)]
