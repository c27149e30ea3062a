"""Importing judgments made elsewhere: exact soft values, idempotent, all-or-nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Annotation, Annotator
from tests.api.conftest import comparison_row


@pytest.fixture
def job(client: TestClient, make_job, researcher):
    job = make_job(researcher)
    rows = [comparison_row(n) for n in range(3)]
    client.post(f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=researcher.headers)
    return job


@pytest.fixture
def url(job) -> str:
    return f"/api/v1/jobs/{job['id']}/annotations"


def judgment(comparison: str, **fields) -> dict:
    return {"comparison_id": comparison, "annotator": "judge-a", "preference": 1.0, **fields}


def test_soft_preferences_are_kept_exactly(client: TestClient, researcher, url) -> None:
    soft = 1.0000001827407
    client.post(url, json=[judgment("c0", preference=soft)], headers=researcher.headers)
    [item] = client.get(url, headers=researcher.headers).json()["items"]
    assert item["preference"] == soft
    assert item["comparison_id"] == "c0"
    assert item["source"] == "imported"


def test_label_alone_sets_the_preference(client: TestClient, researcher, url) -> None:
    rows = [
        {
            "comparison_id": "c0",
            "annotator": "alice",
            "annotator_kind": "human",
            "label": "output_2",
        },
        {
            "comparison_id": "c1",
            "annotator": "alice",
            "annotator_kind": "human",
            "label": "both_bad",
        },
    ]
    client.post(url, json=rows, headers=researcher.headers)
    items = client.get(url, headers=researcher.headers).json()["items"]
    assert [(i["preference"], i["label"], i["annotator_kind"]) for i in items] == [
        (2.0, "output_2", "human"),
        (1.5, "both_bad", "human"),
    ]


def test_unknown_annotators_are_registered_with_their_kind(
    client: TestClient,
    researcher,
    url,
    db: Session,
) -> None:
    client.post(
        url,
        json=[judgment("c0", annotator_kind="human", annotator="bob")],
        headers=researcher.headers,
    )
    annotator = db.scalar(select(Annotator).where(Annotator.name == "bob"))
    assert annotator is not None and annotator.kind == "human"


def test_reimport_is_a_no_op(client: TestClient, researcher, url, db: Session) -> None:
    rows = [judgment("c0"), judgment("c1", preference=2.0)]
    client.post(url, json=rows, headers=researcher.headers)
    again = client.post(url, json=rows, headers=researcher.headers)
    assert again.json() == {"received": 2, "created": 0, "unchanged": 2}
    assert len(db.scalars(select(Annotation)).all()) == 2


def test_repeated_judgments_are_kept_apart(client: TestClient, researcher, url) -> None:
    rows = [judgment("c0", repeat=0), judgment("c0", repeat=1, preference=2.0)]
    assert client.post(url, json=rows, headers=researcher.headers).json()["created"] == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"preference": 2.5}, "preference"),
        ({"preference": 0.5}, "preference"),
        ({"preference": None}, "(row)"),
        ({"label": "output_3"}, "label"),
        ({"annotator_kind": "robot"}, "annotator_kind"),
        ({"cost_usd": -1}, "cost_usd"),
    ],
)
def test_invalid_judgment_is_422_and_stores_nothing(
    client: TestClient,
    researcher,
    url,
    db: Session,
    fields,
    field,
) -> None:
    response = client.post(
        url, json=[judgment("c0"), judgment("c1", **fields)], headers=researcher.headers
    )
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert errors[0]["row"] == 2
    assert errors[0]["field"] == field
    assert db.scalars(select(Annotation)).all() == []


def test_label_that_contradicts_the_preference_is_422(client: TestClient, researcher, url) -> None:
    response = client.post(
        url, json=[judgment("c0", label="output_2", preference=1.0)], headers=researcher.headers
    )
    assert response.status_code == 422
    assert "contradicts" in response.json()["error"]["details"]["errors"][0]["reason"]


def test_unknown_comparison_is_422_and_stores_nothing(
    client: TestClient,
    researcher,
    url,
    db: Session,
) -> None:
    response = client.post(url, json=[judgment("c0"), judgment("nope")], headers=researcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"] == [
        {"row": 2, "field": "comparison_id", "reason": "no comparison 'nope' in this job"}
    ]
    assert db.scalars(select(Annotation)).all() == []
    assert db.scalar(select(Annotator).where(Annotator.name == "judge-a")) is None


def test_an_annotator_cannot_change_kind(client: TestClient, researcher, url) -> None:
    client.post(url, json=[judgment("c0")], headers=researcher.headers)
    response = client.post(
        url, json=[judgment("c1", annotator_kind="human")], headers=researcher.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == "annotator_kind"


def test_duplicate_judgment_inside_one_batch_is_422(client: TestClient, researcher, url) -> None:
    response = client.post(
        url, json=[judgment("c0"), judgment("c0", preference=2.0)], headers=researcher.headers
    )
    assert response.status_code == 422


def test_import_into_another_researchers_job_is_404(
    client: TestClient,
    make_account,
    url,
    db: Session,
) -> None:
    response = client.post(url, json=[judgment("c0")], headers=make_account().headers)
    assert response.status_code == 404
    assert db.scalars(select(Annotation)).all() == []
