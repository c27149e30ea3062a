"""schemathesis against every operation of the API's own OpenAPI schema, with a researcher's
token: whatever a client sends within (or outside) the schema, the answer is never a 5xx, and
every documented answer matches its documented schema. A fixed, derandomized example budget
keeps the run to a few minutes. (Undocumented statuses and lax coercions are found by
schemathesis's `status_code_conformance` and `positive_data_acceptance` checks, which the
schema's owners run; see docs/api.md.)"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

import tests.schemathesis.hooks  # noqa: F401 (registers the NDJSON serializer of the bulk routes)
from app.config import Settings
from app.server import create_app

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, response_schema_conformance]


def _operations(app: FastAPI) -> dict[str, Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = (result.ok() for result in schema.get_all_operations())
    return {f"{op.method.upper()} {op.path}": op for op in operations}


# The operations, read from the schema when the tests are collected (no database needed).
OPERATIONS = sorted(
    _operations(create_app(Settings(database_url="sqlite://", inprocess_worker=False)))
)


@pytest.fixture
def operations(app: FastAPI, client: TestClient, researcher, make_job) -> dict[str, Any]:
    # Jobs with low ids, so generated ids reach real jobs as well as missing ones.
    for name in ("fuzz one", "fuzz two"):
        make_job(researcher, name=name, annotators=["longest"])
    return _operations(app)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_operation_answers_a_5xx_or_breaks_its_response_schema(
    operations: dict[str, Any], researcher, operation: str
) -> None:
    headers = {"Authorization": f"Bearer {researcher.token}"}

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operations[operation].as_strategy())
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()
