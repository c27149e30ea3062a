"""Admin ergonomics: a job opened to every rater or a group in one action, rater groups, job
lists filtered to human work, links between the admin pages and the dashboard."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.db.models import RaterJob, User
from tests.web.conftest import page_csrf, web_login


def _allowed(db, job_id: int) -> set[int]:
    db.expire_all()
    return set(db.scalars(select(RaterJob.user_id).where(RaterJob.job_id == job_id)))


@pytest.fixture
def open_job(admin_client):
    def post(job_id: int, **form: str):
        path = f"/admin/jobs/{job_id}"
        return admin_client.post(
            f"{path}/access",
            data={"csrf_token": page_csrf(admin_client, path), **form},
            follow_redirects=False,
        )

    return post


def test_an_admin_opens_a_job_to_every_active_rater_in_one_action(
    admin_client, open_job, human_job, make_account, db
):
    job = human_job()
    raters = [make_account("rater") for _ in range(3)]
    retired = make_account("rater")
    db.execute(update(User).where(User.id == retired.id).values(active=False))
    db.commit()
    response = open_job(job["id"], action="open", group="")
    assert response.headers["location"] == f"/admin/jobs/{job['id']}?opened=3"
    assert _allowed(db, job["id"]) == {r.id for r in raters}
    assert "3 raters added just now" in admin_client.get(response.headers["location"]).text


def test_opening_again_adds_no_one_twice_and_keeps_what_raters_read(
    admin_client, open_job, human_job, make_rater, make_account, db
):
    job = human_job(job_fields={"guidelines": "Read me."})
    reader = make_rater(job["id"])
    reader.read_guidelines(job["id"])
    make_account("rater")
    assert open_job(job["id"], action="open").headers["location"].endswith("opened=1")
    assert open_job(job["id"], action="open").headers["location"].endswith("opened=0")
    seen = db.scalar(select(RaterJob.guidelines_seen).where(RaterJob.user_id == reader.id))
    assert seen == 1


def test_an_admin_opens_a_job_to_one_group(admin_client, open_job, human_job, make_account, db):
    job = human_job()
    experts = [make_account("rater") for _ in range(2)]
    other = make_account("rater")
    db.execute(
        update(User).where(User.id.in_([r.id for r in experts])).values(rater_group="experts")
    )
    db.commit()
    open_job(job["id"], action="open", group="experts")
    assert _allowed(db, job["id"]) == {r.id for r in experts}
    assert other.id not in _allowed(db, job["id"])


def test_an_admin_closes_a_job_to_every_rater(admin_client, open_job, human_job, make_rater, db):
    job = human_job()
    make_rater(job["id"])
    open_job(job["id"], action="close")
    assert _allowed(db, job["id"]) == set()


def test_a_rater_gets_a_group_when_created_and_on_their_page(admin_client, db):
    admin_client.post(
        "/admin/raters",
        data={
            "email": "grouped@example.org",
            "password": "rater password",
            "group": "  vendor   A ",
            "csrf_token": page_csrf(admin_client),
        },
    )
    rater = db.scalar(select(User).where(User.email == "grouped@example.org"))
    assert rater.rater_group == "vendor A"
    admin_client.post(
        f"/admin/raters/{rater.id}/group",
        data={"group": "experts", "csrf_token": page_csrf(admin_client)},
    )
    db.expire_all()
    assert db.get(User, rater.id).rater_group == "experts"


def test_the_raters_list_filters_by_group_and_by_job(admin_client, human_job, make_rater, db):
    job = human_job()
    on_job = make_rater(job["id"])
    elsewhere = make_rater()
    db.execute(update(User).where(User.id == elsewhere.id).values(rater_group="night shift"))
    db.commit()
    by_job = admin_client.get(f"/admin/raters?job={job['id']}").text
    assert on_job.email in by_job and elsewhere.email not in by_job
    by_group = admin_client.get("/admin/raters?group=night+shift").text
    assert elsewhere.email in by_group and on_job.email not in by_group


def test_the_rater_page_offers_jobs_with_human_work_unless_asked_for_all(
    admin_client, human_job, make_job, researcher, make_account
):
    human_job(job_fields={"name": "Rated by people"})
    make_job(researcher, name="Judged by models only")
    rater = make_account("rater")
    page = admin_client.get(f"/admin/raters/{rater.id}").text
    assert "Rated by people" in page and "Judged by models only" not in page
    every = admin_client.get(f"/admin/raters/{rater.id}?all_jobs=1").text
    assert "Rated by people" in every and "Judged by models only" in every


def test_saving_the_filtered_job_list_keeps_access_to_jobs_it_did_not_show(
    admin_client, human_job, make_job, researcher, make_account, db
):
    human = human_job()
    simulated = make_job(researcher, name="models only")
    rater = make_account("rater")
    db.add(RaterJob(user_id=rater.id, job_id=simulated["id"]))
    db.commit()
    admin_client.post(
        f"/admin/raters/{rater.id}/jobs",
        data={
            "csrf_token": page_csrf(admin_client),
            "offered": [str(human["id"])],
            "job_id": [str(human["id"])],
        },
    )
    db.expire_all()
    allowed = set(db.scalars(select(RaterJob.job_id).where(RaterJob.user_id == rater.id)))
    assert allowed == {human["id"], simulated["id"]}


def test_the_jobs_list_filters_to_jobs_with_human_work(
    admin_client, human_job, make_job, researcher
):
    human_job(job_fields={"name": "Rated by people"})
    make_job(researcher, name="Judged by models only")
    page = admin_client.get("/admin/jobs?human=1").text
    assert "Rated by people" in page and "Judged by models only" not in page
    assert "Judged by models only" in admin_client.get("/admin/jobs").text


def test_admin_pages_and_the_dashboard_link_to_each_other(admin_client, human_job):
    job = human_job()
    admin_page = admin_client.get(f"/admin/jobs/{job['id']}").text
    assert f'href="/dashboard/jobs/{job["id"]}" id="dashboard-link"' in admin_page
    assert '<a href="/dashboard">Dashboard</a>' in admin_page
    dashboard = admin_client.get(f"/dashboard/jobs/{job['id']}").text
    assert f'href="/admin/jobs/{job["id"]}" id="admin-link"' in dashboard
    jobs = admin_client.get("/admin/jobs").text
    assert f'href="/dashboard/jobs/{job["id"]}"' in jobs


def test_researchers_see_no_admin_link_on_the_dashboard(make_account, client):
    researcher = make_account("researcher", password="researcher password")
    web_login(client, researcher.email, "researcher password")
    job = client.post("/api/v1/jobs", json={"name": "mine"}, headers=researcher.headers).json()
    assert "admin-link" not in client.get(f"/dashboard/jobs/{job['id']}").text
