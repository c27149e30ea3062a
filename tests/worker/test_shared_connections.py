"""Provider calls reuse kept-alive connections, and configs that call the same provider share
them (one SDK client per provider address and key, app/annotators/providers/clients.py)."""

from __future__ import annotations

from tests.fakes.fixtures import marked_pairs

CONCURRENCY = 4


def test_two_configs_of_one_provider_share_a_few_kept_alive_connections(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=["openai_label", "openai_json"])
    post_comparisons(researcher, job["id"], marked_pairs(30))

    run_worker(concurrency=CONCURRENCY)

    assert len(annotations_of(researcher, job["id"])) == 60
    assert len(fake_llm.requests) == 60
    connections = {request.peer for request in fake_llm.requests}
    assert None not in connections
    assert len(connections) <= CONCURRENCY  # 60 calls of two configs, never more at once
