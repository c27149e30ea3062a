"""Bulk comparisons: both body formats, de-duplication, idempotent ids, all-or-nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import comparison_row, ndjson


def test_json_array_is_stored(client: TestClient, researcher, url, stored_counts) -> None:
    rows = [comparison_row(n) for n in range(3)]
    response = client.post(url, json=rows, headers=researcher.headers)
    assert response.status_code == 200
    assert response.json() == {"received": 3, "created": 3, "unchanged": 0}
    assert stored_counts() == {"instructions": 3, "outputs": 6, "comparisons": 3, "annotations": 0}


def test_ndjson_is_stored(researcher, url, post_ndjson, stored_counts) -> None:
    response = post_ndjson(url, [comparison_row(n) for n in range(4)], researcher.headers)
    assert response.json() == {"received": 4, "created": 4, "unchanged": 0}
    assert stored_counts()["comparisons"] == 4


def test_stored_rows_read_back_as_posted(client: TestClient, researcher, url) -> None:
    row = comparison_row(1, input="Some context", gold_preference=2.0, metadata={"k": [1, 2]})
    client.post(url, json=[row], headers=researcher.headers)
    [item] = client.get(url, headers=researcher.headers).json()["items"]
    for field in (
        "id",
        "instruction",
        "input",
        "output_1",
        "output_2",
        "generator_1",
        "generator_2",
    ):
        assert item[field] == row[field]
    assert item["gold_preference"] == 2.0
    assert item["metadata"] == {"k": [1, 2]}
    assert item["route"] == "simulated"


def test_reposting_the_same_ids_is_a_no_op(
    client: TestClient, researcher, url, stored_counts
) -> None:
    rows = [comparison_row(n) for n in range(5)]
    client.post(url, json=rows, headers=researcher.headers)
    before = stored_counts()
    again = client.post(url, json=rows, headers=researcher.headers)
    assert again.json() == {"received": 5, "created": 0, "unchanged": 5}
    assert stored_counts() == before


def test_partly_new_batch_stores_only_the_new_rows(client: TestClient, researcher, url) -> None:
    client.post(url, json=[comparison_row(n) for n in range(3)], headers=researcher.headers)
    response = client.post(
        url, json=[comparison_row(n) for n in range(5)], headers=researcher.headers
    )
    assert response.json() == {"received": 5, "created": 2, "unchanged": 3}


def test_rows_without_id_are_deduplicated_by_content(client: TestClient, researcher, url) -> None:
    row = comparison_row(1)
    del row["id"]
    client.post(url, json=[row], headers=researcher.headers)
    again = client.post(url, json=[row], headers=researcher.headers)
    assert again.json()["unchanged"] == 1
    [item] = client.get(url, headers=researcher.headers).json()["items"]
    assert item["id"].startswith("sha256:")


def test_same_texts_in_two_jobs_are_stored_once(
    client: TestClient,
    researcher,
    make_job,
    stored_counts,
) -> None:
    rows = [comparison_row(n) for n in range(2)]
    for _ in range(2):
        job = make_job(researcher)
        client.post(f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=researcher.headers)
    assert stored_counts() == {"instructions": 2, "outputs": 4, "comparisons": 4, "annotations": 0}


def test_shared_outputs_are_stored_once(client: TestClient, researcher, url, stored_counts) -> None:
    rows = [
        comparison_row(1),
        comparison_row(
            2, instruction="Question number 1?", output_1="Short answer 1.", output_2="x"
        ),
    ]
    client.post(url, json=rows, headers=researcher.headers)
    assert stored_counts()["instructions"] == 1
    assert stored_counts()["outputs"] == 3  # output_1 of both rows is the same text


def test_reposting_an_id_with_other_content_is_409(
    client: TestClient,
    researcher,
    url,
    stored_counts,
) -> None:
    client.post(url, json=[comparison_row(1)], headers=researcher.headers)
    before = stored_counts()
    changed = [comparison_row(2), comparison_row(1, output_2="edited")]
    response = client.post(url, json=changed, headers=researcher.headers)
    assert response.status_code == 409
    assert response.json()["error"]["details"]["errors"] == [
        {"row": 2, "field": "id", "reason": "id 'c1' differs"}
    ]
    assert stored_counts() == before


def test_a_human_routed_job_marks_comparisons_for_humans(
    client: TestClient,
    researcher,
    make_job,
) -> None:
    job = make_job(researcher, routing={"policy": "human"}, human_overlap=3)
    url = f"/api/v1/jobs/{job['id']}/comparisons"
    client.post(url, json=[comparison_row(1)], headers=researcher.headers)
    assert client.get(url, headers=researcher.headers).json()["items"][0]["route"] == "human"


def test_listing_pages_through_every_row_once(client: TestClient, researcher, url) -> None:
    client.post(url, json=[comparison_row(n) for n in range(25)], headers=researcher.headers)
    ids, cursor = [], None
    while True:
        params = {"limit": 10, **({"after": cursor} if cursor else {})}
        page = client.get(url, params=params, headers=researcher.headers).json()
        ids += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert ids == [f"c{n}" for n in range(25)]


def test_listing_filters_by_route(client: TestClient, researcher, url) -> None:
    client.post(url, json=[comparison_row(1)], headers=researcher.headers)
    assert (
        client.get(url, params={"route": "human"}, headers=researcher.headers).json()["items"] == []
    )


def test_a_forged_cursor_is_refused(client: TestClient, researcher, url) -> None:
    response = client.get(url, params={"after": "not-a-cursor!"}, headers=researcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "after"


# --- malformed input: a clear 4xx, and nothing stored --------------------------------------


def _assert_nothing_stored(stored_counts) -> None:
    assert stored_counts() == {"instructions": 0, "outputs": 0, "comparisons": 0, "annotations": 0}


def test_bad_json_is_400(client: TestClient, researcher, url, stored_counts) -> None:
    response = client.post(
        url,
        content=b'[{"id": "c1",',
        headers={**researcher.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    _assert_nothing_stored(stored_counts)


def test_bad_ndjson_line_names_its_line(researcher, url, post_body, stored_counts) -> None:
    body = ndjson([comparison_row(1)]) + b"{oops\n" + ndjson([comparison_row(3)])
    response = post_body(url, body, researcher.headers, "application/x-ndjson")
    assert response.status_code == 422
    [error] = response.json()["error"]["details"]["errors"]
    assert (error["row"], error["field"]) == (2, "(row)")
    assert error["reason"].startswith("not valid JSON")
    _assert_nothing_stored(stored_counts)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"output_1": 3}, "output_1"),
        ({"instruction": None}, "instruction"),
        ({"gold_preference": 2.5}, "gold_preference"),
        ({"gold_preference": "yes"}, "gold_preference"),
        ({"metadata": [1]}, "metadata"),
        ({"colour": "red"}, "colour"),
        ({"id": ""}, "id"),
    ],
)
def test_wrong_field_is_422_with_row_and_field(
    client: TestClient,
    researcher,
    url,
    stored_counts,
    row,
    field,
) -> None:
    rows = [comparison_row(1), comparison_row(2, **row)]
    response = client.post(url, json=rows, headers=researcher.headers)
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(2, field)}
    _assert_nothing_stored(stored_counts)


def test_missing_output_is_422(client: TestClient, researcher, url, stored_counts) -> None:
    row = comparison_row(1)
    del row["output_2"]
    response = client.post(url, json=[row], headers=researcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0] == {
        "row": 1,
        "field": "output_2",
        "reason": "Field required",
    }
    _assert_nothing_stored(stored_counts)


def test_a_row_that_is_not_an_object_is_422(
    client: TestClient, researcher, url, stored_counts
) -> None:
    response = client.post(url, json=[comparison_row(1), "c2"], headers=researcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["row"] == 2
    _assert_nothing_stored(stored_counts)


def test_a_body_that_is_not_an_array_is_422(client: TestClient, researcher, url) -> None:
    response = client.post(url, json=comparison_row(1), headers=researcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_body"


def test_empty_batch_is_422(client: TestClient, researcher, url) -> None:
    assert client.post(url, json=[], headers=researcher.headers).status_code == 422


def test_duplicate_id_inside_one_batch_is_422(
    client: TestClient, researcher, url, stored_counts
) -> None:
    rows = [comparison_row(1), comparison_row(2), comparison_row(1, output_1="x")]
    response = client.post(url, json=rows, headers=researcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"] == [
        {"row": 3, "field": "id", "reason": "id 'c1' appears already in row 1"}
    ]
    _assert_nothing_stored(stored_counts)


def test_100001_rows_are_413(researcher, url, post_body, stored_counts) -> None:
    line = b'{"instruction": "q", "output_1": "a", "output_2": "b"}\n'
    response = post_body(url, line * 100_001, researcher.headers, "application/x-ndjson")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_rows"
    _assert_nothing_stored(stored_counts)


def test_body_over_the_size_limit_is_413(
    settings,
    engine,
    researcher,
    job,
    stored_counts,
) -> None:
    from app.server import create_app

    small = create_app(settings.model_copy(update={"max_body_bytes": 1000}), engine)
    with TestClient(small) as client:
        rows = [comparison_row(n, output_2="x" * 200) for n in range(10)]
        response = client.post(
            f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=researcher.headers
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    _assert_nothing_stored(stored_counts)


def test_unsupported_media_type_is_415(researcher, url, post_body) -> None:
    response = post_body(url, b"id,instruction\n", researcher.headers, "text/csv")
    assert response.status_code == 415


def test_posting_to_another_researchers_job_is_404(
    client: TestClient,
    make_account,
    job,
    url,
    stored_counts,
) -> None:
    intruder = make_account()
    response = client.post(url, json=[comparison_row(1)], headers=intruder.headers)
    assert response.status_code == 404
    _assert_nothing_stored(stored_counts)


def test_posting_to_a_cancelled_job_is_409(
    client: TestClient, researcher, job, url, stored_counts
) -> None:
    client.patch(
        f"/api/v1/jobs/{job['id']}", json={"status": "cancelled"}, headers=researcher.headers
    )
    response = client.post(url, json=[comparison_row(1)], headers=researcher.headers)
    assert response.status_code == 409
    _assert_nothing_stored(stored_counts)
