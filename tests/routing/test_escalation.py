"""An `active` job sends a comparison to humans when its simulated judgments disagree, within
its human budget; the rest stay simulated and are done."""

from __future__ import annotations

from collections import defaultdict

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Comparison
from app.stats.calibration import human_modes
from tests.api.conftest import comparison_row


def _active_job(client: TestClient, account, make_job, budget: int | None) -> dict:
    routing = {"policy": "active", "calibration_fraction": 0.0}
    if budget is not None:
        routing["human_budget"] = budget
    job = make_job(account, routing=routing, annotators=["longest", "random"], seed=3)
    rows = [comparison_row(n) for n in range(40)]
    response = client.post(
        f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=account.headers
    )
    assert response.status_code == 200
    return job


def _disagreeing(annotations: list[dict]) -> set[str]:
    sides: dict[str, set[float]] = defaultdict(set)
    for annotation in annotations:
        sides[annotation["comparison_id"]].add(annotation["preference"])
    return {cid for cid, prefs in sides.items() if len(prefs) > 1}


def _routes(db: Session) -> dict[str, tuple[str, str | None, str]]:
    db.expire_all()
    return {
        c.external_id: (c.route, c.escalation, c.status) for c in db.scalars(select(Comparison))
    }


def test_disagreeing_comparisons_go_to_humans(
    client: TestClient,
    researcher,
    make_job,
    run_worker,
    annotations_of,
    db: Session,
) -> None:
    job = _active_job(client, researcher, make_job, budget=None)
    run_worker()
    disagreeing = _disagreeing(annotations_of(researcher, job["id"]))
    assert 0 < len(disagreeing) < 40  # `random` sides with `longest` about half the time
    routes = _routes(db)
    for external_id, (route, escalation, status) in routes.items():
        if external_id in disagreeing:
            assert (route, escalation, status) == ("both", "disagreement", "pending")
        else:
            assert (route, escalation, status) == ("simulated", None, "done")


def test_escalation_stops_at_the_human_budget(
    client: TestClient,
    researcher,
    make_job,
    run_worker,
    annotations_of,
    db: Session,
) -> None:
    job = _active_job(client, researcher, make_job, budget=3)
    run_worker()
    disagreeing = _disagreeing(annotations_of(researcher, job["id"]))
    assert len(disagreeing) > 3
    escalated = {cid for cid, (route, _, _) in _routes(db).items() if route == "both"}
    assert len(escalated) == 3
    assert escalated <= disagreeing


def test_human_mode_ties_are_broken_the_same_way_every_time() -> None:
    tied = {cid: [1.0, 2.0] for cid in range(50)}
    first = human_modes(7, tied)
    assert first == human_modes(7, dict(reversed(tied.items())))
    assert set(first.values()) == {1.0, 2.0}
    assert human_modes(7, {1: [2.0, 2.0, 1.0]}) == {1: 2.0}
