"""Rating guidelines: set over the API and on the admin page, versioned, read before the first
comparison, one key away on every comparison, and recorded on every judgment."""

from __future__ import annotations

from sqlalchemy import select

from app.db.models import Assignment, JobGuidelines, RaterJob
from tests.web.conftest import judgments_of, page_csrf

GUIDELINES = "## How to judge\n\nPrefer the **correct** answer; length is no merit."


def test_guidelines_given_at_creation_are_version_1_over_the_api(researcher, make_job, client):
    job = make_job(researcher, name="with guidelines", guidelines=GUIDELINES)
    assert job["guidelines_version"] == 1
    answer = client.get(f"/api/v1/jobs/{job['id']}/guidelines", headers=researcher.headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["current_version"] == 1 and body["text"] == GUIDELINES
    assert [(v["version"], v["author"]) for v in body["versions"]] == [(1, researcher.email)]


def test_a_job_without_guidelines_has_version_0_and_no_text(researcher, make_job, client):
    job = make_job(researcher)
    assert job["guidelines_version"] == 0
    body = client.get(f"/api/v1/jobs/{job['id']}/guidelines", headers=researcher.headers).json()
    assert body == {"current_version": 0, "text": "", "versions": []}


def test_a_changed_text_is_a_new_version_and_the_same_text_is_not(researcher, make_job, client):
    job = make_job(researcher, guidelines=GUIDELINES)
    path = f"/api/v1/jobs/{job['id']}"
    same = client.patch(path, json={"guidelines": GUIDELINES}, headers=researcher.headers)
    assert same.json()["guidelines_version"] == 1
    changed = client.patch(path, json={"guidelines": "Be strict."}, headers=researcher.headers)
    assert changed.status_code == 200 and changed.json()["guidelines_version"] == 2
    versions = client.get(f"{path}/guidelines", headers=researcher.headers).json()["versions"]
    assert [(v["version"], v["text"]) for v in versions] == [(2, "Be strict."), (1, GUIDELINES)]


def test_guidelines_longer_than_the_limit_are_refused(researcher, client):
    response = client.post(
        "/api/v1/jobs",
        json={"name": "too long", "guidelines": "x" * 50_001},
        headers=researcher.headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "guidelines"


def test_a_rater_reads_the_guidelines_before_the_first_comparison(human_job, make_rater, db):
    job = human_job(job_fields={"name": "Helpfulness round 2", "guidelines": GUIDELINES})
    rater = make_rater(job["id"])
    first = rater.client.get(f"/rate/{job['id']}", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == f"/rate/{job['id']}/guidelines"
    guidelines = rater.client.get(first.headers["location"]).text
    assert "Helpfulness round 2" in guidelines and "<strong>correct</strong>" in guidelines
    assert "before your first comparison" in guidelines
    db.expire_all()
    assert db.scalars(select(Assignment)).all() == [], "nothing is leased before reading"
    assert rater.read_guidelines(job["id"]).headers["location"] == f"/rate/{job['id']}"
    assignment_id, _ = rater.next_page(job["id"])
    assert assignment_id is not None


def test_every_comparison_carries_the_guidelines_one_key_away(human_job, make_rater):
    job = human_job(job_fields={"name": "Helpfulness round 2", "guidelines": GUIDELINES})
    rater = make_rater(job["id"])
    rater.read_guidelines(job["id"])
    _, page = rater.next_page(job["id"])
    assert 'id="guidelines-dialog"' in page
    assert "Guidelines · Helpfulness round 2 (version 1)" in page
    assert 'aria-keyshortcuts="Shift+?"' in page and "<strong>correct</strong>" in page


def test_guidelines_are_sanitised_markdown(human_job, make_rater):
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)"> [x](javascript:alert(3))'
    job = human_job(job_fields={"guidelines": payload})
    rater = make_rater(job["id"])
    page = rater.client.get(f"/rate/{job['id']}/guidelines").text
    assert "<script" not in page and "<img" not in page and 'href="javascript:' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, "shown as text"


def test_a_change_of_guidelines_is_read_again_before_the_next_comparison(
    human_job, make_rater, researcher, client
):
    job = human_job(job_fields={"guidelines": GUIDELINES})
    rater = make_rater(job["id"])
    rater.read_guidelines(job["id"])
    rater.next_page(job["id"])
    client.patch(
        f"/api/v1/jobs/{job['id']}", json={"guidelines": "New rule."}, headers=researcher.headers
    )
    again = rater.client.get(f"/rate/{job['id']}", follow_redirects=False)
    assert again.headers["location"] == f"/rate/{job['id']}/guidelines"
    page = rater.client.get(again.headers["location"]).text
    assert "changed (now version 2)" in page and "New rule." in page


def test_each_judgment_records_the_guidelines_version_it_was_made_under(
    human_job, make_rater, researcher, client, db
):
    job = human_job(job_fields={"guidelines": GUIDELINES})
    rater = make_rater(job["id"])
    rater.read_guidelines(job["id"])
    first, _ = rater.next_page(job["id"])
    rater.judge(job["id"], first, "A")
    leased_before_the_change, _ = rater.next_page(job["id"])
    client.patch(
        f"/api/v1/jobs/{job['id']}", json={"guidelines": "Version two."}, headers=researcher.headers
    )
    # Leased and judged while the rater had read only version 1: made under version 1.
    rater.judge(job["id"], leased_before_the_change, "B")
    rater.read_guidelines(job["id"])
    after, _ = rater.next_page(job["id"])
    rater.judge(job["id"], after, "B")
    by_time = sorted(judgments_of(db, job["id"]), key=lambda j: j.id)
    assert [j.guideline_version for j in by_time] == [1, 1, 2]
    exported = client.get(
        f"/api/v1/jobs/{job['id']}/export?format=annotations", headers=researcher.headers
    ).text
    assert exported.count('"guideline_version":1') == 2
    assert exported.count('"guideline_version":2') == 1


def test_a_judgment_in_a_job_without_guidelines_records_none(human_job, make_rater, db):
    job = human_job(rows=None)
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    rater.judge(job["id"], assignment_id, "A")
    assert [j.guideline_version for j in judgments_of(db, job["id"])] == [None]


def test_confirming_a_version_beyond_the_current_one_counts_as_the_current(
    human_job, make_rater, db
):
    job = human_job(job_fields={"guidelines": GUIDELINES})
    rater = make_rater(job["id"])
    csrf = page_csrf(rater.client, f"/rate/{job['id']}/guidelines")
    rater.client.post(f"/rate/{job['id']}/guidelines", data={"csrf_token": csrf, "version": "99"})
    seen = db.scalar(select(RaterJob.guidelines_seen).where(RaterJob.user_id == rater.id))
    assert seen == 1


def test_an_admin_edits_the_guidelines_on_the_job_page(admin_client, human_job, db):
    job = human_job()
    path = f"/admin/jobs/{job['id']}"
    response = admin_client.post(
        f"{path}/rating",
        data={
            "csrf_token": page_csrf(admin_client, path),
            "preference_scale": "binary",
            "guidelines": "Judge helpfulness first.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    stored = db.scalars(select(JobGuidelines).where(JobGuidelines.job_id == job["id"])).all()
    assert [(g.version, g.text) for g in stored] == [(1, "Judge helpfulness first.")]
    assert "Judge helpfulness first." in admin_client.get(path).text
