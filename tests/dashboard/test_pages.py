"""What the dashboard pages show, read through the real app with a browser session."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.jobs import disagreements as browse
from tests.dashboard.conftest import HUMANS, SIMULATED, disagreeing_ids, judgments, ndjson

POINTS = re.compile(r'<circle class="point"')


def svg(page: str, chart_id: str) -> str:
    match = re.search(rf'<svg id="{chart_id}".*?</svg>', page, re.S)
    assert match, f"no {chart_id} on the page"
    return match.group(0)


def table(page: str, table_id: str) -> list[list[str]]:
    match = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert match, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]


@pytest.fixture
def page_of(web_researcher, logged_in):
    browser: TestClient = logged_in(web_researcher)

    def get(url: str) -> str:
        response = browser.get(url)
        assert response.status_code == 200, response.text
        return response.text

    return get


def test_the_job_list_shows_name_status_size_and_spend_against_budget(
    web_researcher, judged_job, page_of
):
    job = judged_job(web_researcher, name="Helpfulness round 2", budget_usd=25.0)
    rows = table(page_of("/dashboard"), "jobs")
    assert rows == [
        [
            f"{job['id']} · Helpfulness round 2",
            "active",
            "12",
            "48",
            "\N{EN DASH}",
            "$0.00 / $25.00",
        ]
    ]


def test_the_job_page_counts_judgments_by_route_and_annotator(web_researcher, judged_job, page_of):
    job = judged_job(web_researcher)
    page = page_of(f"/dashboard/jobs/{job['id']}")
    routes = {row[0]: row[1:] for row in table(page, "progress-routes")}
    assert routes["imported"] == ["0", "0", "48", "0", "48"]
    assert routes["simulated"] == ["0", "0", "0", "0", "0"]
    by_annotator = {row[0]: row for row in table(page, "progress-annotators")}
    assert set(by_annotator) == {*HUMANS, *SIMULATED}
    assert all(row[-1] == "12" for row in by_annotator.values())
    assert by_annotator[HUMANS[0]][1] == "human" and by_annotator[SIMULATED[0]][1] == "simulated"


def test_the_job_page_loads_its_statistics_from_the_statistics_fragment(
    web_researcher, judged_job, page_of
):
    job = judged_job(web_researcher)
    page = page_of(f"/dashboard/jobs/{job['id']}")
    assert f'data-statistics-url="/dashboard/jobs/{job["id"]}/statistics"' in page
    assert '<script src="/dashboard/static/dashboard.js"></script>' in page
    assert 'id="evaluators"' in page_of(f"/dashboard/jobs/{job['id']}/statistics")


def test_the_progress_fragment_follows_new_judgments(web_researcher, judged_job, page_of, client):
    job = judged_job(web_researcher, count=12)
    url = f"/dashboard/jobs/{job['id']}/progress"
    before = {row[0]: row[-1] for row in table(page_of(url), "progress-annotators")}
    extra = [
        dict(row, annotator="judge-late")
        for row in judgments(12)
        if row["annotator"] == SIMULATED[1]
    ][:5]
    response = client.post(
        f"/api/v1/jobs/{job['id']}/annotations",
        content=ndjson(extra),
        headers={**web_researcher.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    after = {row[0]: row[-1] for row in table(page_of(url), "progress-annotators")}
    assert "judge-late" not in before
    assert after["judge-late"] == "5"


def test_the_job_page_shows_the_evaluator_and_agreement_tables_of_the_stats_api(
    web_researcher, judged_job, page_of, client
):
    job = judged_job(web_researcher)
    stats = client.get(f"/api/v1/jobs/{job['id']}/stats", headers=web_researcher.headers).json()
    page = page_of(f"/dashboard/jobs/{job['id']}/statistics")
    evaluators = table(page, "evaluators")
    assert [row[0] for row in evaluators] == [row["annotator"] for row in stats["evaluators"]]
    for shown, row in zip(evaluators, stats["evaluators"], strict=True):
        assert shown[2] == str(row["n_judgments"])
        assert shown[3] == f"{row['human_agreement']:.3f}"
        assert shown[9] == f"{row['p_prefers_shown_first']:.3f}"
        assert shown[10] == f"{row['p_prefers_longer']:.3f}"
    agreement = dict(table(page, "agreement"))
    assert agreement["Raters"] == "2"
    assert agreement["Comparisons rated by two or more"] == "12"
    assert (
        agreement["Krippendorff's \N{GREEK SMALL LETTER ALPHA}"]
        == f"{stats['agreement']['krippendorff_alpha']:.3f}"
    )


def test_the_ratings_chart_has_a_point_and_an_interval_per_generator(
    web_researcher, judged_job, page_of, client
):
    job = judged_job(web_researcher)
    page = page_of(f"/dashboard/jobs/{job['id']}/statistics")
    chart = svg(page, "ratings-chart")
    assert chart.count('class="point"') == 3
    assert chart.count('class="interval"') == 3
    ratings = table(page, "ratings")
    assert sorted(row[0] for row in ratings) == ["model-a", "model-b", "model-c"]


def test_the_win_rate_chart_has_one_bar_per_judge_and_pair(web_researcher, judged_job, page_of):
    job = judged_job(web_researcher)
    page = page_of(f"/dashboard/jobs/{job['id']}/statistics")
    rows = table(page, "win-rates")
    # Four annotators and the humans as a group; three generator pairs (a-b, b-c, c-a).
    assert len(rows) == 5 * 3
    assert svg(page, "win-rate-chart").count('class="bar"') == len(rows)


def test_the_bias_chart_has_a_position_and_a_length_bar_per_annotator(
    web_researcher, judged_job, page_of
):
    job = judged_job(web_researcher)
    chart = svg(page_of(f"/dashboard/jobs/{job['id']}/statistics"), "bias-chart")
    # Four annotators and the humans as a group, each with both biases measurable.
    assert chart.count('class="bar bias-position"') == 5
    assert chart.count('class="bar bias-length"') == 5


def test_the_chart_labels_escape_generator_names(web_researcher, make_job, client, page_of):
    job = make_job(web_researcher)
    headers = {**web_researcher.headers, "Content-Type": "application/x-ndjson"}
    rows = [
        {"id": "x", "instruction": "Say hi", "output_1": "hi", "output_2": "hello there",
         "generator_1": "<script>alert(1)</script>", "generator_2": "plain"},
    ]  # fmt: skip
    base = f"/api/v1/jobs/{job['id']}"
    assert client.post(f"{base}/comparisons", content=ndjson(rows), headers=headers).is_success
    vote = {
        "comparison_id": "x",
        "annotator": "judge",
        "annotator_kind": "simulated",
        "preference": 1,
    }
    assert client.post(f"{base}/annotations", content=ndjson([vote]), headers=headers).is_success
    page = page_of(f"/dashboard/jobs/{job['id']}/statistics")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg(page, "ratings-chart")


def test_an_export_button_downloads_what_the_api_exports(
    web_researcher, judged_job, page_of, logged_in, client
):
    job = judged_job(web_researcher)
    page = page_of(f"/dashboard/jobs/{job['id']}")
    link = f"/dashboard/jobs/{job['id']}/export?format=trl&amp;file_type=jsonl"
    assert f'href="{link}"' in page
    download = logged_in(web_researcher).get(link.replace("&amp;", "&"))
    from_api = client.get(
        f"/api/v1/jobs/{job['id']}/export?format=trl", headers=web_researcher.headers
    )
    assert download.status_code == 200
    assert download.headers["content-disposition"] == from_api.headers["content-disposition"]
    assert download.content == from_api.content
    assert len(download.content.splitlines()) > 0


def test_an_export_the_format_cannot_write_is_refused(
    web_researcher, judged_job, page_of, logged_in
):
    job = judged_job(web_researcher)
    response = logged_in(web_researcher).get(
        f"/dashboard/jobs/{job['id']}/export?format=openai_dpo&file_type=csv"
    )
    assert response.status_code == 422
    assert "cannot be written" in response.text


def _walk_disagreements(page_of, job_id: int) -> list[str]:
    url = f"/dashboard/jobs/{job_id}/disagreements"
    seen: list[str] = []
    for _ in range(100):
        page = page_of(url)
        seen += [row[0] for row in table(page, "disagreements") if len(row) == 6]
        more = re.search(r'href="(/dashboard/jobs/\d+/disagreements\?after=\d+)" rel="next"', page)
        if more is None:
            return seen
        url = more.group(1)
    raise AssertionError("the disagreement pages never end")


def test_the_disagreements_are_the_comparisons_whose_judgments_point_different_ways(
    web_researcher, judged_job, page_of
):
    job = judged_job(web_researcher, count=12)
    seen = _walk_disagreements(page_of, job["id"])
    assert seen
    assert sorted(seen) == sorted(disagreeing_ids(judgments(12)))


def test_disagreements_come_in_pages_without_gaps_or_repeats(
    web_researcher, judged_job, page_of, monkeypatch
):
    job = judged_job(web_researcher, count=30)
    monkeypatch.setattr(browse, "PAGE_SIZE", 4)
    monkeypatch.setattr(browse, "WINDOW", 7)
    seen = _walk_disagreements(page_of, job["id"])
    assert len(seen) == len(set(seen))
    assert set(seen) == disagreeing_ids(judgments(30))


def test_the_comparison_page_shows_the_instruction_both_outputs_and_every_judgment(
    web_researcher, judged_job, page_of, db
):
    from sqlalchemy import select

    from app.db.models import Comparison

    job = judged_job(web_researcher)
    comparison_id = db.scalar(
        select(Comparison.id).where(Comparison.job_id == job["id"], Comparison.external_id == "q3")
    )
    page = page_of(f"/dashboard/jobs/{job['id']}/comparisons/{comparison_id}")
    assert "Explain <strong>topic 3</strong> briefly." in page
    assert "Short answer 3." in page and "A longer answer 3." in page
    cards = re.findall(r'<article class="judgment-card[^"]*">(.*?)</article>', page, re.S)
    assert len(cards) == 4
    for annotator in (*HUMANS, *SIMULATED):
        assert f"Reason of {annotator} on q3" in page


def test_model_outputs_on_the_comparison_page_cannot_run_script(
    web_researcher, make_job, client, page_of, db
):
    from sqlalchemy import select

    from app.db.models import Comparison

    job = make_job(web_researcher)
    headers = {**web_researcher.headers, "Content-Type": "application/x-ndjson"}
    rows = [
        {"id": "x", "instruction": "Say hi", "output_1": "<script>alert(1)</script>",
         "output_2": "<img src=x onerror=alert(2)>", "generator_1": "a", "generator_2": "b"},
    ]  # fmt: skip
    assert client.post(
        f"/api/v1/jobs/{job['id']}/comparisons", content=ndjson(rows), headers=headers
    ).is_success
    comparison_id = db.scalar(select(Comparison.id).where(Comparison.job_id == job["id"]))
    page = page_of(f"/dashboard/jobs/{job['id']}/comparisons/{comparison_id}")
    assert "<script>alert(1)" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_comparison_of_another_job_is_not_found_under_this_one(
    web_researcher, judged_job, logged_in, db
):
    from sqlalchemy import select

    from app.db.models import Comparison

    mine = judged_job(web_researcher)
    other = judged_job(web_researcher)
    foreign = db.scalar(select(Comparison.id).where(Comparison.job_id == other["id"]))
    response = logged_in(web_researcher).get(f"/dashboard/jobs/{mine['id']}/comparisons/{foreign}")
    assert response.status_code == 404


def test_the_comparison_page_shows_a_conversation_turn_by_turn(
    web_researcher, make_job, client, page_of, db, sample_conversations
):
    from sqlalchemy import select

    from app.db.models import Comparison

    job = make_job(web_researcher)
    headers = {**web_researcher.headers, "Content-Type": "application/x-ndjson"}
    [bakery] = [row for row in sample_conversations if row["id"] == "conv-02"]
    assert client.post(
        f"/api/v1/jobs/{job['id']}/comparisons", content=ndjson([bakery]), headers=headers
    ).is_success
    comparison_id = db.scalar(select(Comparison.id).where(Comparison.job_id == job["id"]))
    page = page_of(f"/dashboard/jobs/{job['id']}/comparisons/{comparison_id}")
    turns = re.findall(r'<li class="turn turn-(\w+)">', page)
    assert turns == [m["role"] for m in bakery["messages"]]
    assert "Can I order one for Thursday?" in page
