"""Changing the last judgment: one key from the next page, while its lease lasts; a new version
of the same judgment, the old one kept for audit, never a second judgment toward k."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.db.models import Assignment, Comparison, JudgmentVersion
from tests.web.conftest import comparison_rows, judgments_of


def _judged(rater, job_id: int, choice: str = "A") -> int:
    assignment_id, _ = rater.next_page(job_id)
    assert rater.judge(job_id, assignment_id, choice, reason="first thought").status_code == 303
    return assignment_id


def test_the_next_page_offers_to_change_the_judgment_just_saved(human_job, make_rater):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    judged = _judged(rater, job["id"])
    page = rater.client.get(f"/rate/{job['id']}?done=A&last={judged}").text
    assert f'href="/rate/{job["id"]}/revise/{judged}" id="undo-link"' in page
    assert 'aria-keyshortcuts="U"' in page


def test_the_change_page_shows_the_same_comparison_with_the_answer_given(human_job, make_rater, db):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    judged = _judged(rater, job["id"], "B")
    page = rater.client.get(f"/rate/{job['id']}/revise/{judged}").text
    comparison = db.get(Comparison, db.get(Assignment, judged).comparison_id)
    assert f"Question {comparison.external_id}:" in page
    assert 'value="B" required data-key="2" checked' in page
    assert 'value="first thought"' in page and 'value="revise"' in page


def test_a_change_is_a_new_version_and_the_old_one_is_kept(human_job, make_rater, db):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    judged = _judged(rater, job["id"], "A")
    [before] = judgments_of(db, job["id"])
    old = (before.label, before.preference, before.rationale)
    response = rater.revise(job["id"], judged, "tie", reason="on reflection")
    assert response.status_code == 303
    assert "changed=1" in response.headers["location"]
    [after] = judgments_of(db, job["id"])
    assert after.id == before.id and after.version == 2
    assert (after.label, after.preference, after.rationale) == ("tie", 1.5, "on reflection")
    [kept] = db.scalars(select(JudgmentVersion)).all()
    assert (kept.annotation_id, kept.version) == (after.id, 1)
    assert (kept.label, kept.preference, kept.rationale) == old


def test_a_change_never_counts_twice_toward_k(human_job, make_rater, db):
    job = human_job(k=1, rows=comparison_rows(1))
    rater = make_rater(job["id"])
    judged = _judged(rater, job["id"])
    rater.revise(job["id"], judged, "B")
    db.expire_all()
    comparison = db.scalar(select(Comparison).where(Comparison.job_id == job["id"]))
    assert (comparison.human_claims, comparison.status) == (1, "done")
    assert len(judgments_of(db, job["id"])) == 1


def test_statistics_and_exports_see_only_the_current_version(
    human_job, make_rater, db, researcher, client
):
    job = human_job(rows=comparison_rows(1))
    rater = make_rater(job["id"])
    judged = _judged(rater, job["id"], "A")
    rater.revise(job["id"], judged, "tie")
    headers = researcher.headers
    stats = client.get(f"/api/v1/jobs/{job['id']}/stats?bootstrap=0", headers=headers).json()
    assert stats["counts"]["judgments"] == 1
    humans = next(row for row in stats["evaluators"] if row["annotator"] == "humans")
    assert humans["p_prefers_output_1"] == 0.5, "the tie, not the first answer"
    export = client.get(f"/api/v1/jobs/{job['id']}/export?format=annotations", headers=headers)
    lines = export.text.splitlines()
    assert len(lines) == 1 and '"label":"tie"' in lines[0]
    listed = client.get(f"/api/v1/jobs/{job['id']}/annotations", headers=headers).json()["items"]
    assert [(item["label"], item["version"]) for item in listed] == [("tie", 2)]


def test_only_the_last_judgment_can_change(human_job, make_rater, db):
    job = human_job(rows=comparison_rows(3))
    rater = make_rater(job["id"])
    earlier = _judged(rater, job["id"])
    _judged(rater, job["id"])
    refused = rater.revise(job["id"], earlier, "B")
    assert refused.status_code == 409 and "Only your last judgment" in refused.text
    assert db.scalars(select(JudgmentVersion)).all() == []


def test_a_judgment_cannot_change_after_its_lease_window(human_job, make_rater, db):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    judged = _judged(rater, job["id"])
    db.execute(
        update(Assignment)
        .where(Assignment.id == judged)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.commit()
    refused = rater.revise(job["id"], judged, "B")
    assert refused.status_code == 409 and "time to change this judgment has passed" in refused.text
    assert [j.version for j in judgments_of(db, job["id"])] == [1]
    page = rater.client.get(f"/rate/{job['id']}/revise/{judged}")
    assert page.status_code == 409 and "text/html" in page.headers["content-type"]


def test_nobody_changes_another_raters_judgment(human_job, make_rater, db):
    job = human_job(k=2, rows=comparison_rows(1))
    owner, other = make_rater(job["id"]), make_rater(job["id"])
    judged = _judged(owner, job["id"])
    other.next_page(job["id"])
    refused = other.revise(job["id"], judged, "B")
    assert refused.status_code == 404
    assert [j.version for j in judgments_of(db, job["id"])] == [1]


def test_a_skipped_comparison_is_not_a_judgment_to_change(human_job, make_rater):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    rater.skip(job["id"], assignment_id)
    assert rater.revise(job["id"], assignment_id, "A").status_code == 409


def test_a_change_can_be_changed_again_and_every_version_is_kept(human_job, make_rater, db):
    job = human_job(rows=comparison_rows(1))
    rater = make_rater(job["id"])
    judged = _judged(rater, job["id"], "A")
    for choice in ("B", "tie"):
        assert rater.revise(job["id"], judged, choice).status_code == 303
    [judgment] = judgments_of(db, job["id"])
    assert (judgment.version, judgment.label) == (3, "tie")
    versions = db.scalars(select(JudgmentVersion).order_by(JudgmentVersion.version)).all()
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].replaced_at == versions[1].created_at, "version 2 lived until version 3"
