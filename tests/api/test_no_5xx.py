"""Whatever a client sends, the answer is a 2xx or a clear 4xx, never a 5xx."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
row_keys = st.sampled_from(
    [
        "id",
        "instruction",
        "input",
        "output_1",
        "output_2",
        "generator_1",
        "generator_2",
        "gold_preference",
        "metadata",
        "comparison_id",
        "annotator",
        "annotator_kind",
        "preference",
        "label",
        "repeat",
        "cost_usd",
        "shown_swapped",
    ]
)
rows = st.lists(st.dictionaries(row_keys, json_values, max_size=10), max_size=4)
fuzz = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@fuzz
@given(body=rows)
def test_comparison_rows_never_cause_a_5xx(client: TestClient, researcher, make_job, body) -> None:
    job = make_job(researcher)
    response = client.post(
        f"/api/v1/jobs/{job['id']}/comparisons", json=body, headers=researcher.headers
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}


@fuzz
@given(body=rows)
def test_annotation_rows_never_cause_a_5xx(client: TestClient, researcher, make_job, body) -> None:
    job = make_job(researcher)
    client.post(
        f"/api/v1/jobs/{job['id']}/comparisons",
        json=[{"id": "c1", "instruction": "q", "output_1": "a", "output_2": "b"}],
        headers=researcher.headers,
    )
    response = client.post(
        f"/api/v1/jobs/{job['id']}/annotations", json=body, headers=researcher.headers
    )
    assert response.status_code < 500, response.text


@fuzz
@given(body=json_values)
def test_job_bodies_never_cause_a_5xx(client: TestClient, researcher, body) -> None:
    response = client.post("/api/v1/jobs", json=body, headers=researcher.headers)
    assert response.status_code < 500, response.text


@fuzz
@given(raw=st.binary(max_size=200))
def test_raw_bytes_never_cause_a_5xx(client: TestClient, researcher, make_job, raw: bytes) -> None:
    job = make_job(researcher)
    for content_type in ("application/json", "application/x-ndjson"):
        response = client.post(
            f"/api/v1/jobs/{job['id']}/comparisons",
            content=raw,
            headers={**researcher.headers, "Content-Type": content_type},
        )
        assert response.status_code < 500, (raw, response.text)
