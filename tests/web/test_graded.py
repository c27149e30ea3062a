"""Graded preferences: a scale per job, answers stored as label plus strength with the soft
preference docs/rating.md documents, ordinal agreement statistics, strength in the export."""

from __future__ import annotations

import itertools
import json
import re
from statistics import fmean

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from tests.web.conftest import assignments_of, comparison_rows, judgments_of, page_csrf

# docs/rating.md: preference = 1.5 -/+ margin / 2, margins per level (weakest first).
LLAMA2_MARGINS = {1: 0.0, 2: 1 / 3, 3: 2 / 3, 4: 1.0}
LIKERT_MARGINS = {1: 1 / 3, 2: 2 / 3, 3: 1.0}


def _documented(label: str, margin: float) -> float:
    return 1.5 - margin / 2 if label == "output_1" else 1.5 + margin / 2


def _side_of(page: str, output: str) -> str:
    """The side (A or B) on which this rater sees output_1 or output_2."""
    first_left = page.index("FIRST answer") < page.index("SECOND answer")
    return "A" if (output == "output_1") == first_left else "B"


def test_the_scale_is_chosen_when_the_job_is_created(researcher, make_job):
    assert make_job(researcher)["preference_scale"] == "binary"
    assert make_job(researcher, preference_scale="llama2_4")["preference_scale"] == "llama2_4"


def test_an_unknown_scale_is_refused(researcher, client):
    response = client.post(
        "/api/v1/jobs",
        json={"name": "x", "preference_scale": "likert_5"},
        headers=researcher.headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "preference_scale"


@pytest.mark.parametrize(
    ("level", "output"), list(itertools.product(LLAMA2_MARGINS, ("output_1", "output_2")))
)
def test_an_answer_on_the_llama2_scale_is_stored_as_side_strength_and_soft_preference(
    human_job, make_rater, db, level, output
):
    job = human_job(rows=comparison_rows(1), job_fields={"preference_scale": "llama2_4"})
    rater = make_rater(job["id"])
    assignment_id, page = rater.next_page(job["id"])
    response = rater.judge(job["id"], assignment_id, f"{_side_of(page, output)}{level}")
    assert response.status_code == 303, response.text
    [judgment] = judgments_of(db, job["id"])
    assert (judgment.label, judgment.strength) == (output, level)
    assert judgment.preference == pytest.approx(_documented(output, LLAMA2_MARGINS[level]))


@pytest.mark.parametrize(
    ("choice", "stored"),
    [("tie", ("tie", 0, 1.5)), ("both_bad", ("both_bad", None, 1.5))],
)
def test_the_middle_of_the_7_point_scale_is_a_tie_of_strength_0(
    human_job, make_rater, db, choice, stored
):
    job = human_job(rows=comparison_rows(1), job_fields={"preference_scale": "likert_7"})
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    assert rater.judge(job["id"], assignment_id, choice).status_code == 303
    [judgment] = judgments_of(db, job["id"])
    assert (judgment.label, judgment.strength, judgment.preference) == stored


def test_the_strongest_level_of_the_7_point_scale_is_a_full_preference(human_job, make_rater, db):
    job = human_job(rows=comparison_rows(1), job_fields={"preference_scale": "likert_7"})
    rater = make_rater(job["id"])
    assignment_id, page = rater.next_page(job["id"])
    rater.judge(job["id"], assignment_id, f"{_side_of(page, 'output_2')}3")
    [judgment] = judgments_of(db, job["id"])
    assert (judgment.label, judgment.strength, judgment.preference) == ("output_2", 3, 2.0)


@pytest.mark.parametrize(
    ("scale", "choice"),
    [
        ("llama2_4", "tie"),
        ("llama2_4", "A5"),
        ("llama2_4", "A"),
        ("binary", "A3"),
        ("likert_7", "B0"),
    ],
)
def test_an_answer_that_is_not_on_the_jobs_scale_is_refused(
    human_job, make_rater, db, scale, choice
):
    job = human_job(rows=comparison_rows(1), job_fields={"preference_scale": scale})
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    response = rater.judge(job["id"], assignment_id, choice)
    assert response.status_code == 422
    assert judgments_of(db, job["id"]) == []
    assert [a.status for a in assignments_of(db, job["id"])] == ["leased"]


def test_the_rating_page_offers_the_scale_left_to_right_with_keys(human_job, make_rater):
    job = human_job(rows=comparison_rows(1), job_fields={"preference_scale": "llama2_4"})
    rater = make_rater(job["id"])
    _, page = rater.next_page(job["id"])
    values = ["A4", "A3", "A2", "A1", "B1", "B2", "B3", "B4", "both_bad"]
    keys = ["1", "2", "3", "4", "5", "6", "7", "8", "0"]
    pairs = zip(values, keys, strict=True)
    positions = [page.index(f'value="{v}" required data-key="{k}"') for v, k in pairs]
    assert positions == sorted(positions)
    text = re.sub(r"<[^>]+>", "", page)
    assert "A: much better" in text and "B: about the same" in text


def test_the_scale_can_change_until_a_rater_has_judged(human_job, make_rater, researcher, client):
    job = human_job(rows=comparison_rows(2))
    path = f"/api/v1/jobs/{job['id']}"
    changed = client.patch(path, json={"preference_scale": "likert_7"}, headers=researcher.headers)
    assert changed.json()["preference_scale"] == "likert_7"
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    rater.judge(job["id"], assignment_id, "tie")
    locked = client.patch(path, json={"preference_scale": "binary"}, headers=researcher.headers)
    assert locked.status_code == 409
    assert locked.json()["error"]["code"] == "scale_locked"
    assert client.get(path, headers=researcher.headers).json()["preference_scale"] == "likert_7"


def test_an_admin_chooses_the_scale_on_the_job_page(admin_client, human_job, researcher, client):
    job = human_job()
    path = f"/admin/jobs/{job['id']}"
    response = admin_client.post(
        f"{path}/rating",
        data={"csrf_token": page_csrf(admin_client, path), "preference_scale": "llama2_4"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    job_now = client.get(f"/api/v1/jobs/{job['id']}", headers=researcher.headers).json()
    assert job_now["preference_scale"] == "llama2_4"


def _rate_everything(raters, job_id: int, answers: dict[tuple[int, str], tuple[str, int]]):
    """Each rater judges every comparison: answers[(rater index, external id)] = (output,
    level), given on the side where this rater sees that output."""
    for index, rater in enumerate(raters):
        while True:
            assignment_id, page = rater.next_page(job_id)
            if assignment_id is None:
                break
            external = page.split("Question ")[1].split(":")[0]
            output, level = answers[(index, external)]
            choice = "tie" if level == 0 else f"{_side_of(page, output)}{level}"
            assert rater.judge(job_id, assignment_id, choice).status_code == 303


def test_agreement_on_a_graded_scale_is_ordinal_and_matches_reference_packages(
    human_job, make_rater, researcher, client
):
    rows = comparison_rows(8)
    job = human_job(k=3, rows=rows, job_fields={"preference_scale": "likert_7"})
    raters = [make_rater(job["id"]) for _ in range(3)]
    rng = np.random.default_rng(7)
    signed = {}  # (rater, comparison) -> position on the axis, -3 (output_1) .. 3 (output_2)
    for index in range(3):
        for row in rows:
            signed[(index, row["id"])] = int(rng.integers(-3, 4))
    answers = {
        key: ("output_1" if value < 0 else "output_2", abs(value)) for key, value in signed.items()
    }
    _rate_everything(raters, job["id"], answers)

    stats = client.get(
        f"/api/v1/jobs/{job['id']}/stats?bootstrap=0", headers=researcher.headers
    ).json()["agreement"]
    matrix = np.array([[signed[(r, row["id"])] for row in rows] for r in range(3)], dtype=float)
    expected_alpha = krippendorff.alpha(
        reliability_data=matrix, level_of_measurement="ordinal", value_domain=list(range(-3, 4))
    )
    expected_kappa = fmean(
        cohen_kappa_score(matrix[a], matrix[b], labels=list(range(-3, 4)), weights="quadratic")
        for a, b in itertools.combinations(range(3), 2)
    )
    assert stats["scale"] == "likert_7"
    assert stats["krippendorff_alpha_ordinal"] == pytest.approx(expected_alpha, abs=1e-12)
    assert stats["weighted_kappa"] == pytest.approx(expected_kappa, abs=1e-12)


def test_a_binary_job_reports_no_ordinal_coefficients(human_job, make_rater, researcher, client):
    job = human_job(k=2, rows=comparison_rows(2))
    for rater in (make_rater(job["id"]), make_rater(job["id"])):
        for _ in range(2):
            assignment_id, _ = rater.next_page(job["id"])
            rater.judge(job["id"], assignment_id, "A")
    stats = client.get(
        f"/api/v1/jobs/{job['id']}/stats?bootstrap=0", headers=researcher.headers
    ).json()["agreement"]
    assert stats["scale"] == "binary"
    assert stats["krippendorff_alpha_ordinal"] is None and stats["weighted_kappa"] is None


def test_the_annotations_export_carries_the_strength(human_job, make_rater, researcher, client):
    job = human_job(rows=comparison_rows(1), job_fields={"preference_scale": "llama2_4"})
    rater = make_rater(job["id"])
    assignment_id, page = rater.next_page(job["id"])
    rater.judge(job["id"], assignment_id, f"{_side_of(page, 'output_2')}2")
    exported = client.get(
        f"/api/v1/jobs/{job['id']}/export?format=annotations", headers=researcher.headers
    )
    [record] = [json.loads(line) for line in exported.text.splitlines()]
    assert (record["label"], record["strength"]) == ("output_2", 2)
    assert record["preference"] == pytest.approx(_documented("output_2", LLAMA2_MARGINS[2]))
