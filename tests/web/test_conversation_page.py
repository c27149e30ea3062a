"""Raters judging conversations in a real browser (issue 15): the conversation sits above the
two responses, earlier turns folded and the last user turn always shown, its Markdown sanitised;
the keyboard flow is the one of instruction prompts."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import browser_rater, judgments_of, log_in

TURNS = [
    {"role": "system", "content": "You are a helpful **travel** assistant."},
    {"role": "user", "content": "Plan a day in Porto."},
    {"role": "assistant", "content": "Morning:\n\n- Ribeira\n- <script>window.pwned = 1</script>"},
    {"role": "user", "content": "Swap the morning for something *indoors*."},
]


def conversation_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"chat{n}",
            "messages": TURNS,
            "output_1": f"Visit the Serralves museum ({n}).",
            "output_2": f"Stay in bed ({n}).",
        }
        for n in range(count)
    ]


def test_a_rater_reads_the_conversation_and_rates_by_keyboard(
    human_job, make_account, engine, open_page, check_page, db
):
    job = human_job(k=1, rows=conversation_rows(2))
    rater = browser_rater(make_account, engine, job["id"])
    page = open_page()
    log_in(page, rater.email)
    page.goto(f"/rate/{job['id']}")

    assert page.text_content("#instruction-heading") == "Conversation"
    last = page.locator("#last-turn")
    assert last.is_visible() and "Swap the morning for something indoors." in last.inner_text()
    assert last.locator("em").inner_text() == "indoors"
    earlier = page.locator("#earlier-turns")
    assert "3 messages" in earlier.locator("summary").inner_text()
    assert not page.get_by_text("Plan a day in Porto.").is_visible()  # folded
    check_page(page, "conversation-folded")

    earlier.locator("summary").click()
    assert page.get_by_text("Plan a day in Porto.").is_visible()
    assert page.locator("#earlier-turns strong").inner_text() == "travel"
    assert "<script>" in earlier.inner_text()  # shown as text, never run
    assert page.evaluate("() => window.pwned") is None
    prompt, shown = page.locator("#prompt").bounding_box(), last.bounding_box()
    assert shown["y"] + shown["height"] <= prompt["y"] + prompt["height"]  # not scrolled away
    check_page(page, "conversation-open")

    for _ in range(2):  # the keyboard flow of instruction prompts: 1 chooses, Enter submits
        page.keyboard.press("1")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Saved:" in page.inner_text("#status")
    assert len(judgments_of(db, job["id"])) == 2


def test_a_phone_shows_the_last_user_turn_first(human_job, make_account, engine, open_phone):
    job = human_job(k=1, rows=conversation_rows(1))
    rater = browser_rater(make_account, engine, job["id"])
    page = open_phone()
    log_in(page, rater.email)
    page.goto(f"/rate/{job['id']}")
    if page.get_attribute("#prompt-toggle", "aria-expanded") == "true":
        page.click("#prompt-toggle")  # folded: the prompt shows its first lines only
    assert not page.locator("#earlier-turns").is_visible()
    body, text = (page.locator(s).bounding_box() for s in ("#prompt-body", "#last-turn p"))
    assert body["y"] <= text["y"] < body["y"] + body["height"]  # its first line shows
