"""Every provider call a worker makes is counted in the Prometheus metrics: its outcome,
latency, tokens and cost, per provider and model."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.fakes.fixtures import marked_pairs


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_worker_records_each_call_with_its_outcome_tokens_and_cost(
    fake_llm, researcher, make_job, post_comparisons, run_worker
):
    labels = {"provider": "openai", "model": "gpt-4o-mini"}
    ok_before = _sample("prefarm_provider_requests_total", outcome="ok", **labels)
    errors_before = _sample("prefarm_provider_requests_total", outcome="error", **labels)
    calls_before = _sample("prefarm_provider_request_duration_seconds_count", **labels)
    prompt_before = _sample("prefarm_provider_tokens_total", kind="prompt", **labels)
    cost_before = _sample("prefarm_provider_cost_usd_total", **labels)
    job = make_job(researcher, annotators=["openai_label"], seed=5)
    post_comparisons(researcher, job["id"], marked_pairs(4))
    fake_llm.fail_next(2, "500")

    run_worker()

    assert _sample("prefarm_provider_requests_total", outcome="ok", **labels) - ok_before == 4
    assert (
        _sample("prefarm_provider_requests_total", outcome="error", **labels) - errors_before == 2
    )
    assert _sample("prefarm_provider_request_duration_seconds_count", **labels) - calls_before == 6
    assert _sample("prefarm_provider_tokens_total", kind="prompt", **labels) > prompt_before
    assert _sample("prefarm_provider_cost_usd_total", **labels) > cost_before
