"""Imported judgments have annotators of their own: a researcher can never file judgments as a
rater account (`human:<email>`) or as one of the server's simulated annotator configs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Annotation, Annotator
from tests.api.conftest import comparison_row


@pytest.fixture
def url(client: TestClient, make_job, researcher) -> str:
    job = make_job(researcher)
    rows = [comparison_row(n) for n in range(2)]
    client.post(f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=researcher.headers)
    return f"/api/v1/jobs/{job['id']}/annotations"


def judgment(annotator: str, kind: str = "simulated") -> dict:
    return {"comparison_id": "c0", "annotator": annotator, "annotator_kind": kind, "preference": 2}


def judgments_stored(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Annotation)) or 0


def test_a_researcher_cannot_file_judgments_as_an_existing_rater(
    client: TestClient, researcher, make_account, url, db
) -> None:
    rater = make_account("rater")

    response = client.post(
        url, json=[judgment(f"human:{rater.email}", "human")], headers=researcher.headers
    )

    assert response.status_code == 422
    [error] = response.json()["error"]["details"]["errors"]
    assert error["field"] == "annotator"
    assert "rater accounts" in error["reason"]
    assert judgments_stored(db) == 0
    rater_annotator = db.scalar(select(Annotator).where(Annotator.user_id == rater.id))
    assert rater_annotator is not None and rater_annotator.name == f"human:{rater.email}"


def test_human_names_are_reserved_even_before_the_rater_exists(
    client: TestClient, researcher, make_account, url, db
) -> None:
    response = client.post(
        url, json=[judgment("human:later@example.org", "human")], headers=researcher.headers
    )

    assert response.status_code == 422
    assert judgments_stored(db) == 0
    assert make_account("rater", email="later@example.org").email == "later@example.org"


@pytest.mark.parametrize("name", ["longest", "openai_label"])
def test_a_shipped_config_name_is_refused(client: TestClient, researcher, url, db, name) -> None:
    response = client.post(url, json=[judgment(name)], headers=researcher.headers)

    assert response.status_code == 422
    assert "config" in response.json()["error"]["details"]["errors"][0]["reason"]
    assert judgments_stored(db) == 0


def test_a_registered_config_name_is_refused(client: TestClient, researcher, admin, url, db):
    config = {"name": "lab_judge", "provider": "builtin", "model": "longest", "parser": "builtin"}
    assert client.post("/api/v1/annotators", json=config, headers=admin.headers).status_code == 201

    response = client.post(url, json=[judgment("lab_judge")], headers=researcher.headers)

    assert response.status_code == 422
    assert judgments_stored(db) == 0


def test_imported_human_judgments_keep_their_own_name_and_kind(
    client: TestClient, researcher, url, db
) -> None:
    response = client.post(url, json=[judgment("panel-7", "human")], headers=researcher.headers)

    assert response.status_code == 200, response.text
    [item] = client.get(url, headers=researcher.headers).json()["items"]
    assert (item["annotator"], item["annotator_kind"], item["source"]) == (
        "panel-7",
        "human",
        "imported",
    )
    annotator = db.scalar(select(Annotator).where(Annotator.name == "panel-7"))
    assert annotator.user_id is None and annotator.config is None


def test_a_config_cannot_take_the_name_of_imported_judgments(
    client: TestClient, researcher, admin, url
) -> None:
    client.post(url, json=[judgment("elsewhere_judge")], headers=researcher.headers)
    config = {
        "name": "elsewhere_judge",
        "provider": "builtin",
        "model": "longest",
        "parser": "builtin",
    }

    response = client.post("/api/v1/annotators", json=config, headers=admin.headers)

    assert response.status_code == 409
