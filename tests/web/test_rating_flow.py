"""The rating page over HTTP: leasing, k raters, skips, judgments in the comparison's frame."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from app.db.models import Annotator, Comparison
from tests.web.conftest import assignments_of, comparison_rows, judgments_of


def test_a_rater_keeps_the_same_comparison_until_they_answer(human_job, make_rater):
    job = human_job(k=1)
    rater = make_rater(job["id"])
    first, _ = rater.next_page(job["id"])
    again, _ = rater.next_page(job["id"])
    assert first is not None and again == first


def test_the_page_shows_the_instruction_and_both_outputs_without_generator_names(
    human_job, make_rater, db
):
    job = human_job(k=1, rows=comparison_rows(1))
    rater = make_rater(job["id"])
    _, page = rater.next_page(job["id"])
    assert "Question c0: what is 0 + 0?" in page
    assert "FIRST answer 0" in page and "SECOND answer 0" in page
    assert "model-one" not in page and "model-two" not in page
    assert "1 left for you in this job" in page


def test_the_stored_preference_is_in_the_comparisons_own_frame(human_job, make_rater, db):
    job = human_job(k=1, rows=comparison_rows(30))
    rater = make_rater(job["id"])
    for _ in range(30):
        assignment_id, page = rater.next_page(job["id"])
        # Choose whichever side shows output_1's text, so the right answer is always output_1.
        first_shown_left = page.index("FIRST answer") < page.index("SECOND answer")
        response = rater.judge(job["id"], assignment_id, "A" if first_shown_left else "B")
        assert response.status_code == 303
    judgments = judgments_of(db, job["id"])
    assert len(judgments) == 30
    assert {(j.label, j.preference, j.source) for j in judgments} == {("output_1", 1.0, "web")}
    swapped = Counter(j.shown_swapped for j in judgments)
    assert swapped[True] > 0 and swapped[False] > 0, "sides are randomised per rater"
    annotator = db.scalar(select(Annotator).where(Annotator.user_id == rater.id))
    assert annotator.name == f"human:{rater.email}"
    assert all(j.annotator_id == annotator.id for j in judgments)
    assert all(j.seconds_on_task is not None and j.seconds_on_task >= 0 for j in judgments)


def test_tie_and_both_bad_store_one_and_a_half_and_keep_their_label(human_job, make_rater, db):
    job = human_job(k=1, rows=comparison_rows(2))
    rater = make_rater(job["id"])
    for choice in ("tie", "both_bad"):
        assignment_id, _ = rater.next_page(job["id"])
        assert rater.judge(job["id"], assignment_id, choice, reason="close").status_code == 303
    stored = {(j.label, j.preference, j.rationale) for j in judgments_of(db, job["id"])}
    assert stored == {("tie", 1.5, "close"), ("both_bad", 1.5, "close")}


def test_each_comparison_gets_k_different_raters_and_then_no_more(human_job, make_rater, db):
    job = human_job(k=2, rows=comparison_rows(3))
    raters = [make_rater(job["id"]) for _ in range(3)]
    for rater in raters:
        while True:
            assignment_id, _ = rater.next_page(job["id"])
            if assignment_id is None:
                break
            assert rater.judge(job["id"], assignment_id, "A").status_code == 303
    judgments = judgments_of(db, job["id"])
    per_comparison = Counter(j.comparison_id for j in judgments)
    assert sorted(per_comparison.values()) == [2, 2, 2]
    pairs = Counter((j.comparison_id, j.annotator_id) for j in judgments)
    assert max(pairs.values()) == 1
    _, page = raters[2].next_page(job["id"])
    assert "This job is done" in page and "0 left for you in this job" in page


def test_a_skipped_comparison_goes_to_another_rater_and_never_back(human_job, make_rater, db):
    job = human_job(k=1, rows=comparison_rows(1))
    first, second = make_rater(job["id"]), make_rater(job["id"])
    assignment_id, _ = first.next_page(job["id"])
    assert second.next_page(job["id"])[0] is None, "leased to the first rater"
    assert first.skip(job["id"], assignment_id).status_code == 303
    assert first.next_page(job["id"])[0] is None, "a skipped comparison never comes back"
    other_assignment, _ = second.next_page(job["id"])
    assert other_assignment is not None
    assert second.judge(job["id"], other_assignment, "B").status_code == 303
    assert [a.status for a in sorted(assignments_of(db, job["id"]), key=lambda a: a.id)] == [
        "skipped",
        "submitted",
    ]


def test_after_submitting_the_next_page_announces_the_saved_choice(human_job, make_rater):
    job = human_job(k=1, rows=comparison_rows(2))
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    response = rater.judge(job["id"], assignment_id, "B")
    assert response.headers["location"] == f"/rate/{job['id']}?done=B&last={assignment_id}"
    page = rater.client.get(response.headers["location"]).text
    assert 'aria-live="polite">Saved: B is better.' in page
    assert "1 rated today" in page


def test_a_rater_cannot_submit_twice(human_job, make_rater, db):
    job = human_job(k=2, rows=comparison_rows(1))
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    assert rater.judge(job["id"], assignment_id, "A").status_code == 303
    again = rater.judge(job["id"], assignment_id, "B")
    assert again.status_code == 409
    assert "judged this comparison already" in again.text
    assert [j.label for j in judgments_of(db, job["id"])] == [
        "output_2" if assignments_of(db, job["id"])[0].shown_swapped else "output_1"
    ]


def test_a_rater_cannot_submit_for_a_comparison_leased_to_someone_else(human_job, make_rater, db):
    job = human_job(k=2, rows=comparison_rows(1))
    owner, intruder = make_rater(job["id"]), make_rater(job["id"])
    assignment_id, _ = owner.next_page(job["id"])
    intruder.next_page(job["id"])  # for a CSRF token
    response = intruder.judge(job["id"], assignment_id, "A")
    assert response.status_code == 404
    assert judgments_of(db, job["id"]) == []


def test_a_rater_cannot_submit_through_another_job(human_job, make_rater, db):
    job, other_job = human_job(k=1), human_job(k=1)
    rater = make_rater(job["id"], other_job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    rater.next_page(other_job["id"])
    response = rater.judge(other_job["id"], assignment_id, "A")
    assert response.status_code == 404
    assert judgments_of(db, job["id"]) == [] and len(judgments_of(db, other_job["id"])) == 0


def test_a_rater_sees_only_jobs_an_admin_opened_to_them(human_job, make_rater):
    job, closed_job = human_job(k=1), human_job(k=1)
    rater = make_rater(job["id"])
    assert rater.client.get(f"/rate/{closed_job['id']}").status_code == 404
    home = rater.client.get("/rate").text
    assert f'href="/rate/{job["id"]}"' in home and f'href="/rate/{closed_job["id"]}"' not in home


def test_a_submission_without_the_csrf_token_is_refused_and_stores_nothing(
    human_job, make_rater, db
):
    job = human_job(k=1)
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    rater.csrf = "forged"
    response = rater.judge(job["id"], assignment_id, "A")
    assert response.status_code == 403
    assert judgments_of(db, job["id"]) == []
    assert {a.status for a in assignments_of(db, job["id"])} == {"leased"}


def test_a_required_reason_is_enforced(human_job, make_rater, db):
    job = human_job(k=1, reason_required=True)
    rater = make_rater(job["id"])
    assignment_id, page = rater.next_page(job["id"])
    assert "Reason (required)" in page
    assert rater.judge(job["id"], assignment_id, "A").status_code == 422
    assert rater.judge(job["id"], assignment_id, "A", reason="clearer").status_code == 303
    assert [j.rationale for j in judgments_of(db, job["id"])] == ["clearer"]


def test_an_unknown_choice_is_refused(human_job, make_rater, db):
    job = human_job(k=1)
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    assert rater.judge(job["id"], assignment_id, "C").status_code == 422
    assert judgments_of(db, job["id"]) == []


def test_researchers_and_admins_get_no_rating_page(human_job, client, make_account):
    job = human_job(k=1)
    from tests.web.conftest import web_login

    admin = make_account("admin", password="admin password")
    assert web_login(client, admin.email, "admin password").status_code == 303
    assert client.get(f"/rate/{job['id']}").status_code == 403


def test_simulated_comparisons_are_never_served(make_job, researcher, client, make_rater, db):
    job = make_job(researcher, routing={"policy": "simulated"}, annotators=["longest"])
    client.post(
        f"/api/v1/jobs/{job['id']}/comparisons",
        json=comparison_rows(3),
        headers=researcher.headers,
    )
    assert set(db.scalars(select(Comparison.route))) == {"simulated"}
    rater = make_rater(job["id"])
    assert rater.next_page(job["id"])[0] is None


def test_comparisons_routed_to_both_queues_are_served_to_raters(
    make_job, researcher, client, make_rater, db
):
    job = make_job(researcher, routing={"policy": "simulated"}, annotators=["longest"])
    client.post(
        f"/api/v1/jobs/{job['id']}/comparisons",
        json=comparison_rows(2),
        headers=researcher.headers,
    )
    escalated = db.scalar(select(Comparison).where(Comparison.external_id == "c1"))
    escalated.route = "both"  # as the routing module marks calibration / escalated items
    db.commit()
    rater = make_rater(job["id"])
    _, page = rater.next_page(job["id"])
    assert "Question c1" in page
    assert rater.next_page(job["id"])[1].count("Question c1") == 1
