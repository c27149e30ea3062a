"""Quality control: gold items, rater figures, automatic pausing and un-pausing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.db.models import Annotation, Annotator, Comparison, User
from app.rating.quality import job_quality
from app.rating.settings import human_settings
from tests.web.conftest import assignments_of, comparison_rows, judgments_of


def _rate_all(rater, job_id: int, choose) -> int:
    """Rate until nothing is left; `choose(page) -> choice`. Returns how many were rated."""
    count = 0
    while True:
        assignment_id, page = rater.next_page(job_id)
        if assignment_id is None:
            return count
        assert rater.judge(job_id, assignment_id, choose(page)).status_code == 303
        count += 1


def _pick_first_output(page: str) -> str:
    return "A" if page.index("FIRST answer") < page.index("SECOND answer") else "B"


def _pick_second_output(page: str) -> str:
    return "B" if page.index("FIRST answer") < page.index("SECOND answer") else "A"


def _rate_in_turns(raters, job_id: int, choose) -> None:
    """Raters take one comparison each in turn until none of them gets anything."""
    active = list(raters)
    while active:
        for rater in list(active):
            assignment_id, page = rater.next_page(job_id)
            if assignment_id is None:
                active.remove(rater)
                continue
            assert rater.judge(job_id, assignment_id, choose(page)).status_code == 303


def test_gold_items_go_to_every_rater_beyond_k(human_job, make_rater, db):
    rows = comparison_rows(6, gold_every=3)  # c0 and c3 are gold
    job = human_job(k=1, rows=rows, gold_rate=1.0)
    first, second = make_rater(job["id"]), make_rater(job["id"])
    # Both rate while the job has work (a done job serves nothing, gold included).
    _rate_in_turns([first, second], job["id"], _pick_first_output)
    gold_ids = {
        c.id for c in db.query(Comparison).filter(Comparison.gold_preference.is_not(None)).all()
    }
    judged = [j.comparison_id for j in judgments_of(db, job["id"])]
    assert sum(1 for c in judged if c in gold_ids) == 4, "each rater judged both gold items"
    assert sum(1 for c in judged if c not in gold_ids) == 4, "the four others once each (k = 1)"


def test_gold_items_look_like_any_other_comparison(human_job, make_rater):
    job = human_job(k=1, rows=comparison_rows(2, gold_every=2), gold_rate=1.0)
    rater = make_rater(job["id"])
    _, gold_page = rater.next_page(job["id"])
    assert "Question c0" in gold_page  # the gold one is served first at rate 1
    assert "gold" not in gold_page.lower()


def test_quality_figures_per_rater(human_job, make_rater, db, settings):
    job = human_job(k=2, rows=comparison_rows(4, gold_every=2))  # c0, c2 gold = output_1
    good, bad = make_rater(job["id"]), make_rater(job["id"])
    _rate_all(good, job["id"], _pick_first_output)
    _rate_all(bad, job["id"], _pick_second_output)
    # Make the good rater's judgments slow and the bad one's too fast.
    for annotation in db.query(Annotation).all():
        annotator = db.get(Annotator, annotation.annotator_id)
        annotation.seconds_on_task = 12.0 if annotator.user_id == good.id else 1.0
    db.commit()
    human = human_settings(db, job["id"], settings)
    figures = {q.user_id: q for q in job_quality(db, job["id"], human)}
    assert figures[good.id].judgments == 4 and figures[good.id].gold_items == 2
    assert figures[good.id].gold_accuracy == 1.0
    assert figures[bad.id].gold_accuracy == 0.0
    assert figures[good.id].agreement == 0.0 and figures[good.id].agreement_pairs == 4
    assert figures[good.id].median_seconds == 12.0 and figures[good.id].too_fast_share == 0.0
    assert figures[bad.id].too_fast_share == 1.0


def test_a_rater_below_the_gold_floor_is_paused_and_an_admin_can_resume(
    human_job, make_rater, make_account, client, db
):
    rows = comparison_rows(8, gold_every=2)  # four gold items, all output_1
    job = human_job(k=1, rows=rows, gold_rate=1.0, gold_accuracy_floor=0.6, gold_min_items=3)
    rater = make_rater(job["id"])
    for _ in range(3):
        assignment_id, page = rater.next_page(job["id"])
        assert rater.judge(job["id"], assignment_id, _pick_second_output(page)).status_code == 303
    db.expire_all()
    user = db.get(User, rater.id)
    assert user.paused_at is not None
    assert "below the floor of 60% after 3 gold items" in user.paused_reason
    assignment_id, page = rater.next_page(job["id"])
    assert assignment_id is None and "Your rating is paused" in page

    from tests.web.conftest import csrf_of, web_login

    admin = make_account("admin", password="admin password")
    web_login(client, admin.email, "admin password")
    rater_page = client.get(f"/admin/raters/{rater.id}")
    assert "gold accuracy 0%" in rater_page.text
    response = client.post(
        f"/admin/raters/{rater.id}/unpause",
        data={"csrf_token": csrf_of(rater_page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    db.expire_all()
    assert db.get(User, rater.id).paused_at is None
    assignment_id, _ = rater.next_page(job["id"])
    assert assignment_id is not None, "resumed, and judged afresh from now on"


def test_a_rater_above_the_floor_keeps_rating(human_job, make_rater, db):
    job = human_job(
        k=1,
        rows=comparison_rows(6, gold_every=2),
        gold_rate=1.0,
        gold_accuracy_floor=0.6,
        gold_min_items=3,
    )
    rater = make_rater(job["id"])
    assert _rate_all(rater, job["id"], _pick_first_output) == 6
    db.expire_all()
    assert db.get(User, rater.id).paused_at is None


def test_pausing_ends_the_raters_live_lease(human_job, make_rater, make_account, client, db):
    job = human_job(k=1, rows=comparison_rows(1))
    rater, other = make_rater(job["id"]), make_rater(job["id"])
    rater.next_page(job["id"])
    from tests.web.conftest import csrf_of, web_login

    admin = make_account("admin", password="admin password")
    web_login(client, admin.email, "admin password")
    page = client.get(f"/admin/raters/{rater.id}")
    client.post(
        f"/admin/raters/{rater.id}/pause",
        data={"csrf_token": csrf_of(page.text), "reason": "checking"},
        follow_redirects=False,
    )
    db.expire_all()
    lease = assignments_of(db, job["id"])[0]
    assert lease.expires_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert other.next_page(job["id"])[0] is not None, "the comparison went to the other rater"
