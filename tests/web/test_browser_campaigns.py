"""A labelling campaign in real Chromium: guidelines, graded answers, changing the last
judgment, honest progress, visible confirmation, error pages, phones, admin ergonomics and time
on task. Every page checked is screenshot at 1400 x 900 and 390 x 844 (or as a phone shows it)
and must have no serious or critical axe-core violation."""

from __future__ import annotations

from urllib.parse import parse_qs

from sqlalchemy import select

from app.db.models import JudgmentVersion, RaterJob
from tests.web.conftest import (
    PHONE,
    browser_rater,
    comparison_rows,
    judgments_of,
    log_in,
)

GUIDELINES = "## Rules\n\n1. Prefer the **correct** answer.\n2. Length is no merit."


def _long_rows(count: int) -> list[dict[str, object]]:
    rows = comparison_rows(count)
    for row in rows:
        row["output_1"] = f"{row['output_1']}\n\n" + "\n\n".join(
            ["A long paragraph that a rater has to read with care. " * 6] * 6
        )
        row["output_2"] = f"{row['output_2']}\n\n- one\n- two\n\n```python\nprint(2)\n```\n" + (
            "More text to read here. " * 80
        )
    return rows


def _side_of_first_output(page) -> str:
    return "A" if "FIRST answer" in page.inner_text("#output-a") else "B"


def _submit_key(page, key: str) -> None:
    page.keyboard.press(key)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_guidelines_come_before_the_first_comparison_and_stay_one_key_away(
    human_job, make_account, engine, open_page, check_page, db
):
    job = human_job(
        rows=comparison_rows(3), job_fields={"name": "Helpfulness", "guidelines": GUIDELINES}
    )
    rater = browser_rater(make_account, engine, job["id"])
    page = open_page()
    log_in(page, rater.email)
    page.click("text=Helpfulness")
    page.wait_for_url(f"**/rate/{job['id']}/guidelines")
    assert "Prefer the correct answer." in page.inner_text(".guidelines")
    check_page(page, "guidelines-first")
    with page.expect_navigation():
        page.click("#start-rating")
    page.keyboard.press("?")
    dialog = page.locator("#guidelines-dialog")
    assert dialog.is_visible()
    assert "Guidelines · Helpfulness (version 1)" in dialog.inner_text()
    check_page(page, "guidelines-dialog")
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    _submit_key(page, "1")  # keyboard rating works first time, right after the dialog
    assert [j.guideline_version for j in judgments_of(db, job["id"])] == [1]


def test_a_saved_judgment_is_confirmed_visibly_and_changed_with_one_key(
    human_job, make_account, engine, open_page, check_page, db
):
    job = human_job(rows=comparison_rows(3))
    rater = browser_rater(make_account, engine, job["id"])
    page = open_page()
    log_in(page, rater.email)
    page.goto(f"/rate/{job['id']}")
    first_side = _side_of_first_output(page)
    _submit_key(page, "1" if first_side == "A" else "2")  # output_1
    saved = page.locator("#saved")
    assert saved.is_visible() and "Saved: " in saved.inner_text()
    check_page(page, "saved")
    with page.expect_navigation():
        page.keyboard.press("u")
    assert "/revise/" in page.url
    assert page.is_checked(f"input[name=choice][value={first_side}]")
    check_page(page, "change")
    _submit_key(page, "3")  # tie
    assert "Changed to: Tie" in page.inner_text("#saved")
    [judgment] = judgments_of(db, job["id"])
    assert (judgment.label, judgment.version) == ("tie", 2)
    [kept] = db.scalars(select(JudgmentVersion)).all()
    assert kept.label == "output_1"


def test_a_graded_scale_is_answered_from_the_keyboard(
    human_job, make_account, engine, open_page, check_page, db
):
    job = human_job(rows=comparison_rows(2), job_fields={"preference_scale": "llama2_4"})
    rater = browser_rater(make_account, engine, job["id"])
    page = open_page()
    log_in(page, rater.email)
    page.goto(f"/rate/{job['id']}")
    check_page(page, "graded")
    # Keys 1-4 are A much better .. A about the same, 5-8 B about the same .. B much better.
    first_side = _side_of_first_output(page)
    _submit_key(page, "2" if first_side == "A" else "7")  # output_1 "better" (level 3)
    _submit_key(page, "0")  # both bad
    stored = sorted((j.label, j.strength) for j in judgments_of(db, job["id"]))
    assert stored == [("both_bad", None), ("output_1", 3)]


def test_progress_shows_what_is_left_for_the_rater_and_the_job_list_only_jobs_with_work(
    human_job, make_account, engine, open_page, check_page, researcher, client
):
    job = human_job(k=2, rows=comparison_rows(3), job_fields={"name": "Open job"})
    paused = human_job(rows=comparison_rows(1), job_fields={"name": "Paused job"})
    client.patch(
        f"/api/v1/jobs/{paused['id']}", json={"status": "paused"}, headers=researcher.headers
    )
    rater = browser_rater(make_account, engine, job["id"], paused["id"])
    page = open_page()
    log_in(page, rater.email)
    assert page.locator("#job-offers li").all_inner_texts() == ["Open job — 3 left for you"]
    check_page(page, "job-list")
    page.click("text=Open job")
    lefts = []
    for _ in range(3):
        lefts.append(page.inner_text("#my-progress"))
        _submit_key(page, "3")
    assert [text.split("· ")[1] for text in lefts] == [
        f"{n} left for you in this job" for n in (3, 2, 1)
    ]
    assert "Whole job, all raters:" in page.inner_text("#job-progress")
    check_page(page, "nothing-left")


def test_a_paused_job_refuses_a_judgment_with_a_clear_page(
    human_job, make_account, engine, open_page, check_page, researcher, client, db
):
    job = human_job(rows=comparison_rows(2))
    rater = browser_rater(make_account, engine, job["id"])
    page = open_page()
    log_in(page, rater.email)
    page.goto(f"/rate/{job['id']}")
    client.patch(f"/api/v1/jobs/{job['id']}", json={"status": "paused"}, headers=researcher.headers)
    _submit_key(page, "1")
    assert "NOT saved" in page.inner_text("main")
    check_page(page, "paused-refusal")
    assert judgments_of(db, job["id"]) == []


def test_unknown_addresses_show_an_html_error_page(
    human_job, make_account, engine, open_page, check_page
):
    rater = browser_rater(make_account, engine, human_job()["id"])
    page = open_page()
    log_in(page, rater.email)
    response = page.goto("/rate/1/nowhere")
    assert response.status == 404 and page.inner_text("h1") == "Page not found"
    check_page(page, "not-found")
    with page.expect_navigation():
        page.click("text=Back to your start page")
    assert page.url.endswith("/rate")


def test_on_a_phone_the_answers_are_the_main_thing(
    human_job, make_account, engine, open_phone, check_page, db
):
    job = human_job(rows=_long_rows(2))
    rater = browser_rater(make_account, engine, job["id"])
    page = open_phone()
    log_in(page, rater.email)
    page.goto(f"/rate/{job['id']}")
    check_page(page, "phone", sizes=(PHONE,))

    # The instruction is folded to its first lines; one tap shows it all.
    assert "collapsed" in page.get_attribute("#prompt", "class")
    page.tap("#prompt-toggle")
    assert page.get_attribute("#prompt-toggle", "aria-expanded") == "true"
    page.tap("#prompt-toggle")

    # A and B are tabs.
    assert page.is_visible("#output-a") and not page.is_visible("#output-b")
    page.tap("#tab-b")
    assert page.is_visible("#output-b") and not page.is_visible("#output-a")
    assert page.get_attribute("#tab-b", "aria-selected") == "true"
    check_page(page, "phone-tab-b", sizes=(PHONE,))

    # Reading: once the outputs are scrolled to, they get at least 60 % of the screen.
    page.evaluate("() => window.scrollTo(0, document.getElementById('outputs').offsetTop)")
    tabs = page.locator(".output-tabs").bounding_box()
    bar = page.locator("#judgment-form").bounding_box()
    reading = bar["y"] - (tabs["y"] + tabs["height"])
    assert reading / PHONE["height"] >= 0.6, f"{reading} px of {PHONE['height']} to read"

    # Touch targets of at least 44 px, no keyboard hints.
    targets = page.locator(
        "#judgment-form .choice, #judgment-form button, [role=tab], #prompt-toggle, #reason"
    )
    for index in range(targets.count()):
        box = targets.nth(index).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, targets.nth(index).inner_html()
    assert page.locator("kbd.shortcut:visible").count() == 0
    assert not page.is_visible("#shortcuts-toggle")

    page.tap(".choice-B")
    with page.expect_navigation():
        page.tap("#submit-button")
    assert page.is_visible("#saved")
    assert len(judgments_of(db, job["id"])) == 1


def test_the_desktop_keeps_the_answers_side_by_side_with_keyboard_hints(
    human_job, make_account, engine, open_page
):
    job = human_job(rows=_long_rows(1))
    page = open_page()
    log_in(page, browser_rater(make_account, engine, job["id"]).email)
    page.goto(f"/rate/{job['id']}")
    a, b = page.locator("#output-a").bounding_box(), page.locator("#output-b").bounding_box()
    assert a["y"] == b["y"] and a["x"] < b["x"]
    assert not page.is_visible(".output-tabs")
    assert page.locator("kbd.shortcut:visible").count() > 0


def test_the_page_reports_idle_time_without_input_with_the_judgment(
    human_job, make_account, engine, open_page
):
    job = human_job(rows=comparison_rows(1))
    page = open_page()
    log_in(page, browser_rater(make_account, engine, job["id"]).email)
    page.clock.install()
    page.goto(f"/rate/{job['id']}")
    posted = []
    page.on("request", lambda r: posted.append(r.post_data) if r.method == "POST" else None)
    page.clock.fast_forward(90_000)  # no input for 90 s; the first 60 s count as reading
    _submit_key(page, "1")
    idle = float(parse_qs(posted[0])["idle_seconds"][0])
    assert 29.0 <= idle <= 31.0


def test_the_page_reports_time_in_a_hidden_tab_as_idle(human_job, make_account, engine, open_page):
    job = human_job(rows=comparison_rows(1))
    page = open_page()
    log_in(page, browser_rater(make_account, engine, job["id"]).email)
    page.clock.install()
    page.goto(f"/rate/{job['id']}")
    posted = []
    page.on("request", lambda r: posted.append(r.post_data) if r.method == "POST" else None)
    switch = """hidden => {
        Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }"""
    page.evaluate(switch, True)
    page.clock.fast_forward(20_000)
    page.evaluate(switch, False)
    _submit_key(page, "1")
    idle = float(parse_qs(posted[0])["idle_seconds"][0])
    assert 19.0 <= idle <= 21.0


def test_an_admin_opens_a_job_to_every_rater_and_reads_the_time_distribution(
    human_job, make_account, engine, open_page, check_page, make_rater, db
):
    job = human_job(rows=comparison_rows(4), too_fast_share=0.5)
    worker = make_rater(job["id"])
    for _ in range(4):
        assignment_id, _ = worker.next_page(job["id"])
        worker.judge(job["id"], assignment_id, "A")
    newcomers = [make_account("rater") for _ in range(2)]
    admin = make_account("admin", password="admin password")
    page = open_page()
    log_in(page, admin.email, "admin password")
    page.goto(f"/admin/jobs/{job['id']}")
    with page.expect_navigation():
        page.click("#open-job")
    assert "2 raters added just now" in page.inner_text("#access-count")
    allowed = set(db.scalars(select(RaterJob.user_id).where(RaterJob.job_id == job["id"])))
    assert {r.id for r in newcomers} <= allowed
    assert page.locator("table.quality svg.histogram").count() == 1
    check_page(page, "admin-job")
    with page.expect_navigation():
        page.click("#dashboard-link")
    assert page.url.endswith(f"/dashboard/jobs/{job['id']}")
