"""The rating app in a real browser (Debian's chromium, headless, driven by Playwright)."""

from __future__ import annotations

from tests.web.conftest import (
    assignments_of,
    browser_rater,
    comparison_rows,
    judgments_of,
    log_in,
)


def _side_of_first_output(page) -> str:
    """'A' if output_1 (the FIRST answer) is on the left, else 'B'."""
    return "A" if "FIRST answer" in page.inner_text("#output-a") else "B"


def test_a_rater_rates_by_keyboard_and_mouse_skips_and_logs_out(
    human_job, make_account, engine, open_page, check_page, db
):
    job = human_job(k=1, rows=comparison_rows(10))
    rater = browser_rater(make_account, engine, job["id"])
    page = open_page()
    log_in(page, rater.email)
    page.goto(f"/rate/{job['id']}")
    check_page(page, "rating")

    wanted = ["output_1", "output_2", "tie", "both_bad", "output_1", "output_2", "output_1"]
    expected: dict[int, str] = {}
    for index, label in enumerate(wanted):
        assignment_id = int(page.input_value("input[name=assignment_id]"))
        expected[assignment_id] = label
        first_side = _side_of_first_output(page)
        other_side = "B" if first_side == "A" else "A"
        choice = {"output_1": first_side, "output_2": other_side}.get(label, label)
        if index < 5:  # keyboard alone: 1-4 choose, Enter submits
            key = {"A": "1", "B": "2", "tie": "3", "both_bad": "4"}[choice]
            page.keyboard.press(key)
            assert page.is_checked(f"input[name=choice][value={choice}]")
            with page.expect_navigation():
                page.keyboard.press("Enter")
        else:  # the mouse
            page.click(f"input[name=choice][value={choice}]")
            with page.expect_navigation():
                page.click("#submit-button")
        assert "Saved:" in page.inner_text("#status")

    skipped = int(page.input_value("input[name=assignment_id]"))
    with page.expect_navigation():
        page.keyboard.press("s")
    assert page.inner_text("#status").startswith("Saved: Skipped")
    assert "7 rated today" in page.inner_text("#progress")

    with page.expect_navigation():
        page.click("text=Log out")
    assert page.url.endswith("/login")
    page.goto(f"/rate/{job['id']}")
    assert "/login" in page.url, "logged out for good"

    assignments = {a.id: a for a in assignments_of(db, job["id"])}
    judgments = {j.comparison_id: j for j in judgments_of(db, job["id"])}
    assert assignments[skipped].status == "skipped"
    assert len(judgments) == 7
    preference = {"output_1": 1.0, "output_2": 2.0, "tie": 1.5, "both_bad": 1.5}
    for assignment_id, label in expected.items():
        judgment = judgments[assignments[assignment_id].comparison_id]
        assert (judgment.label, judgment.preference) == (label, preference[label])
        assert judgment.shown_swapped == assignments[assignment_id].shown_swapped


def test_shortcuts_can_be_switched_off(human_job, make_account, engine, open_page, db):
    job = human_job(k=1, rows=comparison_rows(2))
    rater = browser_rater(make_account, engine, job["id"])
    page = open_page()
    log_in(page, rater.email)
    page.goto(f"/rate/{job['id']}")
    page.uncheck("#shortcuts-toggle")
    page.keyboard.press("1")
    page.keyboard.press("s")
    assert not page.is_checked("input[name=choice][value=A]")
    page.reload()
    assert not page.is_checked("#shortcuts-toggle"), "the choice is remembered"
    assert judgments_of(db, job["id"]) == []
    assert {a.status for a in assignments_of(db, job["id"])} == {"leased"}


def test_script_and_onerror_payloads_render_as_text_and_run_nothing(
    human_job, make_account, engine, open_page
):
    payload = '<script>window.__pwned = "script"</script> <img src=x onerror="window.__pwned = 1">'
    rows = [
        {
            "id": "xss",
            "instruction": f"Repeat this: {payload}",
            "output_1": f"Here: {payload}",
            "output_2": f"```html\n{payload}\n```\n\n[x](javascript:window.__pwned=3)",
        }
    ]
    job = human_job(k=1, rows=rows)
    rater = browser_rater(make_account, engine, job["id"])
    page = open_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, rater.email)
    page.goto(f"/rate/{job['id']}")
    page.wait_for_load_state("load")
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    for selector in (".instruction", "#output-a", "#output-b"):
        assert "<script>" in page.inner_text(selector)
    assert page.locator("main script, main img").count() == 0


def test_two_raters_at_once_never_get_a_comparison_beyond_k(
    human_job, make_account, engine, open_page, db
):
    job = human_job(k=1, rows=comparison_rows(6))
    pages = []
    for _ in range(2):
        page = open_page()
        log_in(page, browser_rater(make_account, engine, job["id"]).email)
        page.goto(f"/rate/{job['id']}")
        pages.append(page)
    done = [False, False]
    while not all(done):
        for index, page in enumerate(pages):
            if done[index]:
                continue
            if page.locator("input[name=assignment_id]").count() == 0:
                done[index] = True
                continue
            page.keyboard.press("3")
            with page.expect_navigation():
                page.keyboard.press("Enter")
    per_comparison = [j.comparison_id for j in judgments_of(db, job["id"])]
    assert len(per_comparison) == 6 and len(set(per_comparison)) == 6
    by_user = {a.user_id for a in assignments_of(db, job["id"])}
    assert len(by_user) == 2, "both raters rated"


def test_a_tampered_form_cannot_submit_for_someone_elses_lease(
    human_job, make_account, engine, open_page, db
):
    job = human_job(k=2, rows=comparison_rows(1))
    owner, intruder = open_page(), open_page()
    log_in(owner, browser_rater(make_account, engine, job["id"]).email)
    log_in(intruder, browser_rater(make_account, engine, job["id"]).email)
    owner.goto(f"/rate/{job['id']}")
    intruder.goto(f"/rate/{job['id']}")
    owners_lease = owner.input_value("input[name=assignment_id]")
    intruder.evaluate(
        "id => document.querySelector('input[name=assignment_id]').value = id", owners_lease
    )
    intruder.keyboard.press("1")
    with intruder.expect_navigation():
        intruder.keyboard.press("Enter")
    assert "not leased to you" in intruder.inner_text("main")
    assert judgments_of(db, job["id"]) == []


def test_a_tampered_form_cannot_submit_through_another_job(
    human_job, make_account, engine, open_page, db
):
    job, other_job = human_job(k=1), human_job(k=1)
    page = open_page()
    log_in(page, browser_rater(make_account, engine, job["id"], other_job["id"]).email)
    page.goto(f"/rate/{job['id']}")
    page.evaluate(
        "job => document.getElementById('judgment-form').action = `/rate/${job}/judgments`",
        other_job["id"],
    )
    page.keyboard.press("2")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "belongs to another job" in page.inner_text("main")
    assert judgments_of(db, job["id"]) == [] and judgments_of(db, other_job["id"]) == []


def test_a_comparison_cannot_be_submitted_twice(human_job, make_account, engine, open_page, db):
    job = human_job(k=1, rows=comparison_rows(3))
    page = open_page()
    log_in(page, browser_rater(make_account, engine, job["id"]).email)
    page.goto(f"/rate/{job['id']}")
    judged = page.input_value("input[name=assignment_id]")
    page.keyboard.press("1")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # The next page's form, pointed back at the comparison just judged (a stale form resent).
    page.evaluate("id => document.querySelector('input[name=assignment_id]').value = id", judged)
    page.keyboard.press("2")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "judged this comparison already" in page.inner_text("main")
    assert len(judgments_of(db, job["id"])) == 1


def test_outputs_sit_side_by_side_on_wide_screens_and_stack_on_narrow_ones(
    human_job, make_account, engine, open_page
):
    job = human_job(k=1, rows=comparison_rows(1))
    page = open_page()
    log_in(page, browser_rater(make_account, engine, job["id"]).email)
    page.goto(f"/rate/{job['id']}")
    a, b = page.locator("#output-a").bounding_box(), page.locator("#output-b").bounding_box()
    assert a["y"] == b["y"] and a["x"] < b["x"]
    page.set_viewport_size({"width": 600, "height": 900})
    a, b = page.locator("#output-a").bounding_box(), page.locator("#output-b").bounding_box()
    assert a["x"] == b["x"] and a["y"] < b["y"]
