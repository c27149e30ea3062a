"""Live calibration: each simulated annotator's agreement with humans on comparisons both judged,
with an interval, in the job's statistics."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import comparison_row
from tests.web.conftest import web_login


def test_stats_report_each_annotators_agreement_with_humans(
    client: TestClient,
    researcher,
    make_job,
) -> None:
    job = make_job(researcher, routing={"policy": "active", "calibration_fraction": 1.0})
    url = f"/api/v1/jobs/{job['id']}"
    client.post(
        f"{url}/comparisons", json=[comparison_row(n) for n in range(4)], headers=researcher.headers
    )
    judgments = [
        {
            "comparison_id": f"c{n}",
            "annotator": "ann",
            "annotator_kind": "human",
            "label": "output_2",
        }
        for n in range(4)
    ] + [
        # right on c0 and c1, wrong on c2, a tie on c3: scores 1, 1, 0, 0.5
        {"comparison_id": "c0", "annotator": "judge", "preference": 2.0},
        {"comparison_id": "c1", "annotator": "judge", "preference": 2.0},
        {"comparison_id": "c2", "annotator": "judge", "preference": 1.0},
        {"comparison_id": "c3", "annotator": "judge", "preference": 1.5},
    ]
    assert (
        client.post(f"{url}/annotations", json=judgments, headers=researcher.headers).status_code
        == 200
    )
    stats = client.get(f"{url}/stats", headers=researcher.headers).json()
    [judge] = stats["calibration"]
    assert judge["annotator"] == "judge"
    assert judge["comparisons"] == 4
    assert judge["agreement"] == pytest.approx(0.625)
    assert judge["low"] < 0.625 < judge["high"]
    csv = client.get(
        f"{url}/stats", params={"format": "csv", "table": "calibration"}, headers=researcher.headers
    )
    assert csv.text.splitlines()[0] == "annotator,comparisons,agreement,low,high"


def test_exports_leave_out_annotators_below_the_jobs_agreement_floor(
    client: TestClient,
    researcher,
    make_job,
) -> None:
    routing = {"policy": "active", "calibration_fraction": 1.0, "export_agreement_floor": 0.5}
    job = make_job(researcher, routing=routing)
    url = f"/api/v1/jobs/{job['id']}"
    client.post(
        f"{url}/comparisons", json=[comparison_row(n) for n in range(3)], headers=researcher.headers
    )
    judgments = []
    for n in range(3):
        judgments += [
            {
                "comparison_id": f"c{n}",
                "annotator": "ann",
                "annotator_kind": "human",
                "label": "output_2",
            },
            {"comparison_id": f"c{n}", "annotator": "agrees", "preference": 2.0},
            {"comparison_id": f"c{n}", "annotator": "disagrees", "preference": 1.0},
        ]
    client.post(f"{url}/annotations", json=judgments, headers=researcher.headers)
    exported = client.get(
        f"{url}/export", params={"format": "annotations"}, headers=researcher.headers
    )
    assert exported.status_code == 200
    lines = [line for line in exported.text.splitlines() if line]
    annotators = {orjson.loads(line)["annotator"] for line in lines}
    assert annotators == {"ann", "agrees"}
    assert len(lines) == 6


def test_the_dashboard_shows_the_calibration(client: TestClient, make_account, make_job) -> None:
    researcher = make_account("researcher", password="calibration password")
    job = make_job(researcher, routing={"policy": "active", "calibration_fraction": 1.0})
    url = f"/api/v1/jobs/{job['id']}"
    client.post(f"{url}/comparisons", json=[comparison_row(0)], headers=researcher.headers)
    judgments = [
        {"comparison_id": "c0", "annotator": "ann", "annotator_kind": "human", "label": "output_2"},
        {"comparison_id": "c0", "annotator": "judge", "preference": 1.75},
    ]
    client.post(f"{url}/annotations", json=judgments, headers=researcher.headers)
    web_login(client, researcher.email, "calibration password")
    page = client.get(f"/dashboard/jobs/{job['id']}/statistics").text
    assert 'id="calibration"' in page
    table = page.split('id="calibration"')[1].split("</table>")[0]
    assert "judge" in table and "0.750" in table
