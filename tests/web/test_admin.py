"""Admin pages: raters, their job access, passwords, job settings; admins only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db.models import JobHumanSettings, RaterJob, User
from tests.web.conftest import page_csrf, web_login


def _csrf(client: TestClient, path: str = "/admin/raters") -> str:
    return page_csrf(client, path)


def test_an_admin_creates_a_rater_who_can_then_log_in(admin_client, app, db):
    response = admin_client.post(
        "/admin/raters",
        data={
            "email": "New.Rater@example.org",
            "password": "rater password",
            "csrf_token": _csrf(admin_client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    user = db.scalar(select(User).where(User.email == "new.rater@example.org"))
    assert user.role == "rater"
    assert "new.rater@example.org" in admin_client.get("/admin/raters").text
    with TestClient(app) as rater_client:
        assert web_login(rater_client, "new.rater@example.org", "rater password").status_code == 303


def test_a_short_password_or_duplicate_email_is_refused(admin_client, make_account, db):
    existing = make_account("rater")
    csrf = _csrf(admin_client)
    short = admin_client.post(
        "/admin/raters", data={"email": "x@example.org", "password": "short", "csrf_token": csrf}
    )
    assert short.status_code == 422
    duplicate = admin_client.post(
        "/admin/raters",
        data={"email": existing.email, "password": "long enough", "csrf_token": csrf},
    )
    assert duplicate.status_code == 422 and "exists already" in duplicate.text
    assert db.scalar(select(User).where(User.email == "x@example.org")) is None


def test_an_admin_chooses_which_jobs_a_rater_may_rate(admin_client, human_job, make_account, db):
    rater = make_account("rater")
    first, second = human_job(k=1), human_job(k=1)
    csrf = _csrf(admin_client, f"/admin/raters/{rater.id}")
    admin_client.post(
        f"/admin/raters/{rater.id}/jobs",
        data={"csrf_token": csrf, "job_id": [str(first["id"]), str(second["id"])]},
    )
    assert set(db.scalars(select(RaterJob.job_id).where(RaterJob.user_id == rater.id))) == {
        first["id"],
        second["id"],
    }
    admin_client.post(
        f"/admin/raters/{rater.id}/jobs", data={"csrf_token": csrf, "job_id": [str(second["id"])]}
    )
    db.expire_all()
    assert set(db.scalars(select(RaterJob.job_id).where(RaterJob.user_id == rater.id))) == {
        second["id"]
    }


def test_a_password_reset_logs_the_rater_out(admin_client, make_rater, human_job, db):
    job = human_job(k=1)
    rater = make_rater(job["id"])
    assert rater.client.get("/rate").status_code == 200
    response = admin_client.post(
        f"/admin/raters/{rater.id}/password",
        data={"password": "a new password", "csrf_token": _csrf(admin_client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert rater.client.get("/rate", follow_redirects=False).status_code == 303
    rater.client.cookies.clear()
    assert web_login(rater.client, rater.email, "a new password").status_code == 303


def test_an_admin_sets_a_jobs_human_settings(admin_client, human_job, db):
    job = human_job(k=2)
    csrf = _csrf(admin_client, f"/admin/jobs/{job['id']}")
    response = admin_client.post(
        f"/admin/jobs/{job['id']}/settings",
        data={
            "csrf_token": csrf,
            "gold_rate": "0.1",
            "reason_required": "true",
            "gold_accuracy_floor": "0.7",
            "gold_min_items": "5",
            "lease_seconds": "300",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    row = db.get(JobHumanSettings, job["id"])
    assert (row.gold_rate, row.reason_required, row.gold_accuracy_floor) == (0.1, True, 0.7)
    assert (row.gold_min_items, row.lease_seconds) == (5, 300)


def test_bad_job_settings_are_refused_and_change_nothing(admin_client, human_job, db):
    job = human_job(k=2)
    csrf = _csrf(admin_client, f"/admin/jobs/{job['id']}")
    for bad in ({"gold_rate": "2"}, {"gold_accuracy_floor": "1.5"}, {"lease_seconds": "abc"}):
        response = admin_client.post(
            f"/admin/jobs/{job['id']}/settings", data={"csrf_token": csrf, **bad}
        )
        assert response.status_code == 422, bad
    assert db.get(JobHumanSettings, job["id"]) is None


def test_admin_forms_need_the_csrf_token(admin_client, make_account, db):
    rater = make_account("rater")
    response = admin_client.post(
        f"/admin/raters/{rater.id}/pause", data={"csrf_token": "forged"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert db.get(User, rater.id).paused_at is None


def test_raters_cannot_open_admin_pages(make_rater, human_job):
    rater = make_rater(human_job(k=1)["id"])
    assert rater.client.get("/admin/raters").status_code == 403
    assert rater.client.get("/admin/jobs").status_code == 403
