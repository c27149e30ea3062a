"""The job page's charts in Chromium at a desktop and a phone size: readable labels, one panel
per judge, full width, no sideways scrolling of the page, each chart downloadable as SVG and
its data as CSV, and no accessibility violations found by axe-core (issue 17.6)."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.dashboard.conftest import HUMANS, PASSWORD, SIMULATED

AXE_VERSION = "4.10.3"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def axe_source(tmp_path_factory) -> str:
    """axe-core's browser build, from the npm registry's `axe-core` package."""
    folder = tmp_path_factory.mktemp("axe")
    subprocess.run(
        ["npm", "pack", f"axe-core@{AXE_VERSION}", "--silent"],
        cwd=folder,
        check=True,
        timeout=180,
        capture_output=True,
    )
    with tarfile.open(folder / f"axe-core-{AXE_VERSION}.tgz") as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None
        return member.read().decode()


@pytest.fixture
def job_page(browser, live_url, web_researcher, judged_job):
    """Open the job page logged in, at a viewport size; CSP is bypassed so axe can be added."""
    job = judged_job(web_researcher, name="Chart job")
    contexts = []

    def open_at(viewport: dict[str, int]):
        context = browser.new_context(
            base_url=live_url, viewport=viewport, bypass_csp=True, accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/login")
        page.fill("#email", web_researcher.email)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.goto(f"/dashboard/jobs/{job['id']}")
        page.wait_for_selector("#win-rate-chart")
        page.wait_for_selector("#validity-chart")
        return page

    yield open_at
    for context in contexts:
        context.close()


def page_overflow(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def axe_violations(page, axe_source: str) -> list[dict]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})).violations"
    )
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in result]


def test_on_a_desktop_the_charts_fill_the_page_with_readable_labels(job_page, axe_source):
    page = job_page(DESKTOP)
    assert page_overflow(page) <= 0
    card = page.locator("#winrate-heading").locator("xpath=..").bounding_box()
    chart = page.locator("#win-rate-chart").bounding_box()
    assert chart["width"] >= 0.9 * (card["width"] - 40)
    facets = page.locator("#win-rate-chart text.facet").all_text_contents()
    assert facets == [f"judge: {name}" for name in (*HUMANS, *SIMULATED)] + ["all judges pooled"]
    label_height = page.locator("#win-rate-chart text").nth(5).bounding_box()["height"]
    assert label_height >= 14  # rendered text at least 14 px tall
    assert page.locator("#validity-chart circle.point").count() == 3
    assert axe_violations(page, axe_source) == []


def test_on_a_phone_nothing_scrolls_the_page_sideways(job_page, axe_source):
    page = job_page(PHONE)
    assert page_overflow(page) <= 0
    for chart_id in ("ratings-chart", "win-rate-chart", "bias-chart", "validity-chart"):
        box = page.locator(f"#{chart_id}").locator("xpath=..").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
    assert axe_violations(page, axe_source) == []


def test_each_chart_downloads_as_svg_and_its_data_as_csv(job_page):
    page = job_page(DESKTOP)
    figure = page.locator("#win-rate-chart").locator("xpath=ancestor::figure")
    with page.expect_download() as svg_download:
        figure.locator("text=Chart (SVG)").click()
    svg = Path(svg_download.value.path()).read_text(encoding="utf-8")
    assert svg.startswith('<?xml version="1.0"') and '<svg id="win-rate-chart"' in svg
    assert svg_download.value.suggested_filename.endswith("-win_rates.svg")
    with page.expect_download() as csv_download:
        figure.locator("text=Data (CSV)").click()
    header = Path(csv_download.value.path()).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("judge,generator,opponent,n,win_rate,standard_error")
