"""The pool behaves as AlpacaFarm's simulated annotators do where it matters (issue 13.10):
members sample at temperature 1.0, identical outputs are a tie without a call. Builtin judges
see no order, so position bias does not apply to them (issue 17.1)."""

from __future__ import annotations

from tests.fakes.fixtures import marked_pairs


def test_pool_members_sample_at_temperature_one(
    fake_llm, researcher, make_job, post_comparisons, run_worker
):
    job = make_job(researcher, annotators=["farm_pool"], seed=21)
    post_comparisons(researcher, job["id"], marked_pairs(40))
    run_worker()
    by_api = {"openai": set(), "anthropic": set()}
    for request in fake_llm.requests:
        by_api[request.api].add(request.body.get("temperature"))
    assert by_api["openai"] == {1.0}
    # The Anthropic API version used takes no sampling parameter: its default is 1.0.
    assert by_api["anthropic"] == {None}


def test_identical_outputs_are_a_tie_without_a_call(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=["farm_pool", "openai_label"], seed=3)
    same = [
        {
            "id": f"s{i}",
            "instruction": f"Echo {i}",
            "output_1": f"echo {i}",
            "output_2": f"echo {i}",
        }
        for i in range(6)
    ]
    post_comparisons(researcher, job["id"], same)
    run_worker()
    annotations = annotations_of(researcher, job["id"])
    assert len(annotations) == 12
    assert fake_llm.requests == []
    for annotation in annotations:
        assert annotation["preference"] == 1.5 and annotation["label"] == "tie"
        assert annotation["metadata"]["identical_outputs"] is True
        assert annotation["cost_usd"] == 0


def test_builtin_judges_have_no_position_bias_to_report(
    client, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=["longest"], seed=4)
    rows = [
        {"id": f"r{i}", "instruction": f"Say {i}", "output_1": "Hi" * (1 + i % 3) * 20,
         "output_2": "Hello"}
        for i in range(12)
    ]  # fmt: skip
    post_comparisons(researcher, job["id"], rows)
    run_worker()
    assert {a["shown_swapped"] for a in annotations_of(researcher, job["id"])} == {None}
    stats = client.get(f"/api/v1/jobs/{job['id']}/stats", headers=researcher.headers).json()
    [longest] = stats["evaluators"]
    assert longest["p_prefers_shown_first"] is None  # never saw an order
    assert longest["p_prefers_longer"] == 1.0
