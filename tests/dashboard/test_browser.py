"""The dashboard in a real browser: log in, read the job page, open a disagreement."""

from __future__ import annotations

import os
from pathlib import Path

from tests.dashboard.conftest import HUMANS, PASSWORD, SIMULATED, judgments, ndjson


def _log_in(page, email: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_a_researcher_reads_the_job_page_and_opens_a_disagreement(
    web_researcher,
    judged_job,
    open_page,
    client,
):
    job = judged_job(web_researcher, name="Browser job", budget_usd=10.0)
    page = open_page()
    _log_in(page, web_researcher.email)
    page.wait_for_url("**/dashboard")
    page.click(f"a[href='/dashboard/jobs/{job['id']}']")
    page.wait_for_url(f"**/dashboard/jobs/{job['id']}")

    page.wait_for_selector("#ratings-chart")  # the statistics arrive after the page
    assert page.locator("#ratings-chart circle.point").count() == 3
    assert page.locator("#ratings-chart line.interval").count() == 3
    win_rows = page.locator("#win-rates tbody tr").count()
    assert win_rows == 15
    assert page.locator("#win-rate-chart rect.bar").count() == win_rows
    assert page.locator("#bias-chart rect.bias-position").count() == 5
    assert page.locator("#bias-chart rect.bias-length").count() == 5
    assert page.locator("#ratings-chart").bounding_box()["width"] > 300
    assert page.locator("#evaluators tbody tr").count() == 5
    assert page.inner_text("#agreement").count("Krippendorff") == 1
    assert "of a $10.00 budget" in page.inner_text("#spend")

    if shots := os.environ.get("PREFARM_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(shots) / "job-page.png"), full_page=True)

    # Live progress: judgments imported now show up without reloading the page.
    late = [dict(r, annotator="judge-late") for r in judgments() if r["annotator"] == SIMULATED[1]]
    response = client.post(
        f"/api/v1/jobs/{job['id']}/annotations",
        content=ndjson(late[:3]),
        headers={**web_researcher.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    page.wait_for_selector("#progress-annotators th:has-text('judge-late')", timeout=12_000)
    assert int(page.get_attribute("#live", "data-refreshed") or 0) >= 1  # fetched, not reloaded

    page.click("text=Browse disagreements")
    page.wait_for_url("**/disagreements")
    first = page.locator("#disagreements tbody a").first
    external_id = first.inner_text()
    first.click()
    page.wait_for_selector("#judgments")
    assert page.inner_text("h1") == f"Comparison {external_id}"
    # The first disagreement is q0, which judge-late has judged as well by now.
    assert external_id == "q0"
    assert page.locator("#judgments article").count() == 5
    for annotator in (*HUMANS, *SIMULATED, "judge-late"):
        assert annotator in page.inner_text("#judgments")
    assert page.locator(".instruction strong").inner_text().startswith("topic")
    assert page.locator("#output-1").inner_text() and page.locator("#output-2").inner_text()
