"""Every provider kind and parser, through the providers' HTTP clients and the fake provider:
the stored preference is in the comparison's own frame whichever side was shown first."""

from __future__ import annotations

import pytest

from tests.fakes.fixtures import expected_preference, marked_pairs

SINGLE_CALL_ANNOTATORS = [
    "openai_label",
    "openai_json",
    "openai_tool",
    "anthropic_label",
    "anthropic_json",
    "anthropic_tool",
]


@pytest.mark.parametrize("annotator", SINGLE_CALL_ANNOTATORS)
def test_preference_is_stored_in_the_comparisons_frame(
    annotator, fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=[annotator], seed=3)
    post_comparisons(researcher, job["id"], marked_pairs(12))

    run_worker()

    annotations = annotations_of(researcher, job["id"])
    assert len(annotations) == 12
    for a in annotations:
        assert a["annotator"] == annotator and a["parse_error"] is None
        assert a["preference"] == expected_preference(a["comparison_id"]), a
        assert a["label"] == ("output_2" if a["preference"] == 2.0 else "output_1")
    assert {a["shown_swapped"] for a in annotations} == {True, False}
    api = "anthropic" if annotator.startswith("anthropic") else "openai"
    assert {r.api for r in fake_llm.requests} == {api}
    assert len(fake_llm.requests) == 12


def test_json_and_tool_answers_keep_the_reason(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=["openai_json", "anthropic_tool"])
    post_comparisons(researcher, job["id"], marked_pairs(2))

    run_worker()

    rationales = {(a["annotator"], a["rationale"]) for a in annotations_of(researcher, job["id"])}
    assert all(reason for _, reason in rationales)
    assert {name for name, _ in rationales} == {"openai_json", "anthropic_tool"}


def test_tool_annotators_send_a_forced_tool_call(
    fake_llm, researcher, make_job, post_comparisons, run_worker
):
    job = make_job(researcher, annotators=["openai_tool", "anthropic_tool"])
    post_comparisons(researcher, job["id"], marked_pairs(1))

    run_worker()

    bodies = {r.api: r.body for r in fake_llm.requests}
    assert bodies["openai"]["tool_choice"]["function"]["name"] == "record_verdict"
    assert bodies["anthropic"]["tool_choice"] == {"type": "tool", "name": "record_verdict"}


def test_openai_compatible_server_by_base_url(
    admin,
    fake_llm,
    client,
    researcher,
    make_job,
    post_comparisons,
    run_worker,
    annotations_of,
    monkeypatch,
):
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("GATEWAY_KEY", "gw-secret")
    config = {
        "name": "my_gateway_judge",
        "provider": "openai_compatible",
        "base_url": f"{fake_llm.url}/v1",
        "api_key_env": "GATEWAY_KEY",
        "model": "qwen-7b",
        "prompt": "direct_choice",
        "parser": "label",
    }
    assert client.post("/api/v1/annotators", json=config, headers=admin.headers).status_code == 201
    job = make_job(researcher, annotators=["my_gateway_judge"])
    post_comparisons(researcher, job["id"], marked_pairs(6))

    run_worker()

    annotations = annotations_of(researcher, job["id"])
    assert [a["preference"] for a in annotations] == [
        expected_preference(a["comparison_id"]) for a in annotations
    ]
    assert {r.body["model"] for r in fake_llm.requests} == {"qwen-7b"}


def test_soft_preferences_from_logprobs(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=["openai_logprob"], seed=5)
    post_comparisons(researcher, job["id"], marked_pairs(10))

    run_worker()

    annotations = annotations_of(researcher, job["id"])
    # The fake gives the marked response probability 0.9: p = 2 - P(A) / (P(A) + P(B)).
    for a in annotations:
        soft = 1.9 if expected_preference(a["comparison_id"]) == 2.0 else 1.1
        assert a["preference"] == pytest.approx(soft, abs=1e-6)
    assert {a["shown_swapped"] for a in annotations} == {True, False}
    assert all(r.body["logprobs"] is True for r in fake_llm.requests)


def test_a_batch_of_five_is_parsed_in_order(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=["openai_batch5"], seed=11)
    post_comparisons(researcher, job["id"], marked_pairs(5))

    run_worker()

    assert len(fake_llm.requests) == 1
    annotations = annotations_of(researcher, job["id"])
    assert len(annotations) == 5
    for a in annotations:
        assert a["preference"] == expected_preference(a["comparison_id"])
        assert a["metadata"]["batch"]["size"] == 5
    assert sorted(a["metadata"]["batch"]["index"] for a in annotations) == [0, 1, 2, 3, 4]
    assert {a["shown_swapped"] for a in annotations} == {True, False}


def test_a_batch_answer_with_the_wrong_count_is_retried_never_shifted(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of, db
):
    answers = iter(["1: A\n2: B\n3: A\n4: B"])  # one verdict short, then correct answers
    fake_llm.script = lambda prompt: next(answers, None)
    job = make_job(researcher, annotators=["openai_batch5"])
    post_comparisons(researcher, job["id"], marked_pairs(5))

    run_worker()

    assert len(fake_llm.requests) == 2
    annotations = annotations_of(researcher, job["id"])
    assert [a["preference"] for a in annotations] == [
        expected_preference(a["comparison_id"]) for a in annotations
    ]


def test_a_batch_that_never_answers_right_fails_with_the_reason(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of, client
):
    fake_llm.script = lambda prompt: "1: A\n2: B"
    job = make_job(researcher, annotators=["openai_batch5"])
    post_comparisons(researcher, job["id"], marked_pairs(5))

    run_worker()

    assert annotations_of(researcher, job["id"]) == []
    progress = client.get(f"/api/v1/jobs/{job['id']}", headers=researcher.headers).json()
    assert progress["progress"]["tasks_by_status"] == {"failed": 5}
    assert len(fake_llm.requests) == 5  # max_attempts of the config
