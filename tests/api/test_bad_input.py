"""Input the database cannot hold is refused with a 4xx in the usual shape, the same on SQLite
and PostgreSQL, and nothing is stored: NUL characters in any text, ids outside the range of
their column, JSON nested absurdly deep."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db.values import INT32_MAX, INT64_MAX, MAX_JSON_DEPTH
from tests.api.conftest import comparison_row

NUL = "a\u0000b"


def nested(depth: int) -> str:
    """A JSON object nested `depth` levels deep, as text (too deep for json.dumps)."""
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def assert_refused(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


@pytest.fixture
def job(make_job, researcher) -> dict[str, Any]:
    return make_job(researcher)


@pytest.mark.parametrize(
    "body",
    [
        {"name": NUL},
        {"name": "ok", "reference_generator": NUL},
        {"name": "ok", "annotators": [NUL]},
    ],
    ids=["name", "reference_generator", "annotators"],
)
def test_nul_in_a_new_job_is_refused(client: TestClient, researcher, body) -> None:
    error = assert_refused(client.post("/api/v1/jobs", json=body, headers=researcher.headers))

    assert "NUL" in str(error["details"])
    assert client.get("/api/v1/jobs", headers=researcher.headers).json()["items"] == []


def test_nul_in_a_job_rename_is_refused(client: TestClient, researcher, job) -> None:
    response = client.patch(
        f"/api/v1/jobs/{job['id']}", json={"name": NUL}, headers=researcher.headers
    )

    assert_refused(response)
    assert (
        client.get(f"/api/v1/jobs/{job['id']}", headers=researcher.headers).json()["name"]
        == (job["name"])
    )


@pytest.mark.parametrize(
    "field",
    ["id", "instruction", "input", "output_1", "output_2", "generator_1", "generator_2"],
)
def test_nul_in_any_text_of_a_comparison_is_refused(
    client: TestClient, researcher, job, stored_counts, field
) -> None:
    before = stored_counts()
    rows = [comparison_row(1), comparison_row(2, **{field: NUL})]

    response = client.post(
        f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=researcher.headers
    )

    error = assert_refused(response)
    assert error["details"]["errors"][0]["row"] == 2
    assert error["details"]["errors"][0]["field"] == field
    assert stored_counts() == before


@pytest.mark.parametrize(
    "metadata", [{"note": NUL}, {NUL: 1}, {"list": [1, [NUL]]}], ids=["value", "key", "nested"]
)
def test_nul_anywhere_in_metadata_is_refused(
    client: TestClient, researcher, job, stored_counts, metadata
) -> None:
    before = stored_counts()

    response = client.post(
        f"/api/v1/jobs/{job['id']}/comparisons",
        json=[comparison_row(1, metadata=metadata)],
        headers=researcher.headers,
    )

    assert assert_refused(response)["details"]["errors"][0]["field"] == "metadata"
    assert stored_counts() == before


@pytest.mark.parametrize("field", ["comparison_id", "annotator", "rationale", "raw_completion"])
def test_nul_in_an_imported_judgment_is_refused(
    client: TestClient, researcher, job, stored_counts, field
) -> None:
    client.post(
        f"/api/v1/jobs/{job['id']}/comparisons",
        json=[comparison_row(1)],
        headers=researcher.headers,
    )
    before = stored_counts()
    row = {"comparison_id": "c1", "annotator": "judge", "preference": 1.0, field: NUL}

    response = client.post(
        f"/api/v1/jobs/{job['id']}/annotations", json=[row], headers=researcher.headers
    )

    assert assert_refused(response)["details"]["errors"][0]["field"] == field
    assert stored_counts() == before


@pytest.mark.parametrize("field", ["model", "persona", "description", "prompt_template"])
def test_nul_in_an_annotator_config_is_refused(client: TestClient, admin, field) -> None:
    config = {
        "name": "nul_judge",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt": "direct_choice",
        "parser": "label",
        field: NUL,
    }
    if field == "prompt_template":
        config.pop("prompt")

    response = client.post("/api/v1/annotators", json=config, headers=admin.headers)

    assert assert_refused(response)["code"] == "invalid_config"
    assert client.get("/api/v1/annotators/nul_judge", headers=admin.headers).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs/{job}/annotations?annotator=a%00",
        "/api/v1/jobs/{job}/comparisons?status=a%00",
        "/api/v1/jobs/{job}/stats?annotators=a%00",
        "/api/v1/jobs/{job}/export?format=trl&annotators=a%00",
        "/api/v1/annotators/a%00b",
    ],
)
def test_nul_in_a_url_is_refused(client: TestClient, researcher, job, path) -> None:
    response = client.get(path.format(job=job["id"]), headers=researcher.headers)

    assert assert_refused(response)["details"][0]["reason"].startswith("NUL")


def test_nul_in_a_header_is_refused_and_creates_no_job(client: TestClient, researcher) -> None:
    response = client.post(
        "/api/v1/jobs",
        json={"name": "ok"},
        headers={**researcher.headers, "Idempotency-Key": "key\x00"},
    )

    assert assert_refused(response)["details"][0]["field"] == "header idempotency-key"
    assert client.get("/api/v1/jobs", headers=researcher.headers).json()["items"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs/{big}",
        "/api/v1/jobs/{big}/comparisons",
        "/api/v1/jobs/{big}/annotations",
        "/api/v1/jobs/{big}/stats",
        "/api/v1/jobs/{big}/export?format=trl",
    ],
)
@pytest.mark.parametrize("big", [INT32_MAX + 1, 99999999999, 2**70])
def test_an_id_outside_the_database_range_is_refused(
    client: TestClient, researcher, path, big
) -> None:
    response = client.get(path.format(big=big), headers=researcher.headers)

    assert assert_refused(response)["details"][0]["field"] == "job_id"


def test_the_largest_id_in_range_is_simply_not_found(client: TestClient, researcher) -> None:
    response = client.get(f"/api/v1/jobs/{INT32_MAX}", headers=researcher.headers)

    assert assert_refused(response, 404)["code"] == "not_found"


def test_writes_to_an_id_outside_the_range_are_refused(client: TestClient, researcher) -> None:
    for response in (
        client.patch("/api/v1/jobs/99999999999", json={"name": "x"}, headers=researcher.headers),
        client.post(
            "/api/v1/jobs/99999999999/comparisons",
            json=[comparison_row(1)],
            headers=researcher.headers,
        ),
        client.post("/api/v1/jobs/99999999999/tasks/retry", json={}, headers=researcher.headers),
    ):
        assert_refused(response)


@pytest.mark.parametrize(
    "cursor", [f"v1.{INT64_MAX + 1}", "v1.-5", f"v1.{2**70}", "djE6NQ", "v2.5"]
)
def test_a_cursor_this_api_never_issues_is_refused_by_its_schema(
    client: TestClient, researcher, job, cursor
) -> None:
    for path in ("/api/v1/jobs", f"/api/v1/jobs/{job['id']}/comparisons"):
        response = client.get(path, params={"after": cursor}, headers=researcher.headers)
        body = assert_refused(response, 422)
        assert [detail["field"] for detail in body["details"]] == ["after"]


def test_a_job_cursor_beyond_the_job_ids_is_a_bad_cursor(client: TestClient, researcher) -> None:
    cursor = f"v1.{INT32_MAX + 1}"

    response = client.get("/api/v1/jobs", params={"after": cursor}, headers=researcher.headers)

    assert assert_refused(response, 400)["code"] == "bad_cursor"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000])
def test_metadata_nested_too_deep_is_refused_as_json_and_ndjson(
    client: TestClient, researcher, job, stored_counts, depth
) -> None:
    before = stored_counts()
    row = (
        '{"id": "deep", "instruction": "q", "output_1": "a", "output_2": "b", '
        f'"metadata": {nested(depth)}}}'
    )
    url = f"/api/v1/jobs/{job['id']}/comparisons"

    for content_type, body in (("application/json", f"[{row}]"), ("application/x-ndjson", row)):
        response = client.post(
            url, content=body, headers={**researcher.headers, "Content-Type": content_type}
        )
        assert assert_refused(response)["code"] == "invalid_rows"
    assert stored_counts() == before


def test_metadata_at_the_depth_limit_is_stored(client: TestClient, researcher, job) -> None:
    row = (
        '{"id": "deep", "instruction": "q", "output_1": "a", "output_2": "b", '
        f'"metadata": {nested(MAX_JSON_DEPTH)}}}'
    )

    response = client.post(
        f"/api/v1/jobs/{job['id']}/comparisons",
        content=row.encode(),
        headers={**researcher.headers, "Content-Type": "application/x-ndjson"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1


def test_a_deeply_nested_json_body_is_a_client_error(client: TestClient, researcher) -> None:
    body = '{"name": "deep", "routing": ' + "[" * 5000 + "]" * 5000 + "}"

    response = client.post(
        "/api/v1/jobs",
        content=body,
        headers={**researcher.headers, "Content-Type": "application/json"},
    )

    assert 400 <= response.status_code < 500
    assert client.get("/api/v1/jobs", headers=researcher.headers).json()["items"] == []


def test_a_token_cursor_beyond_the_token_ids_is_a_bad_cursor(
    client: TestClient, researcher
) -> None:
    response = client.get(
        "/api/v1/tokens", params={"after": f"v1.{INT32_MAX + 1}"}, headers=researcher.headers
    )

    assert assert_refused(response, 400)["code"] == "bad_cursor"


def test_revoking_a_token_id_outside_the_range_is_refused(client: TestClient, researcher) -> None:
    response = client.delete(f"/api/v1/tokens/{INT32_MAX + 1}", headers=researcher.headers)

    assert assert_refused(response)["details"][0]["field"] == "token_id"
