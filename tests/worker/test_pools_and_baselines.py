"""Builtin baselines, pools with seeded member choice and label noise, and both_orders."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from app.db.models import Annotator, Task
from tests.fakes.fixtures import expected_preference, marked_pairs


def test_builtin_baselines_need_no_network(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=["longest", "random"], seed=4)
    rows = [
        {"id": "r0", "instruction": "Say hi", "output_1": "Hi", "output_2": "Hello there!"},
        {"id": "r1", "instruction": "Say bye", "output_1": "Goodbye, friend.", "output_2": "Bye"},
        {"id": "r2", "instruction": "Count", "output_1": "one", "output_2": "two"},
    ]
    post_comparisons(researcher, job["id"], rows)

    run_worker()

    assert fake_llm.requests == []
    by_annotator = {
        (a["annotator"], a["comparison_id"]): a for a in annotations_of(researcher, job["id"])
    }
    assert [by_annotator[("longest", f"r{i}")]["preference"] for i in range(3)] == [2.0, 1.0, 1.5]
    assert {by_annotator[("random", f"r{i}")]["preference"] for i in range(3)} <= {1.0, 2.0}
    assert all(a["cost_usd"] == 0 for a in by_annotator.values())


def test_random_baseline_is_reproducible_from_the_seed(
    researcher, make_job, post_comparisons, run_worker, annotations_of
):
    rows = marked_pairs(40)
    results = []
    for seed in (1, 1, 2):
        job = make_job(researcher, annotators=["random"], seed=seed)
        post_comparisons(researcher, job["id"], rows)
        run_worker()
        annotations = sorted(
            annotations_of(researcher, job["id"]), key=lambda a: a["comparison_id"]
        )
        results.append([a["preference"] for a in annotations])
    assert results[0] == results[1]
    assert results[0] != results[2]
    assert 10 < results[0].count(1.0) < 30


def test_a_pool_gives_each_comparison_one_member(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of, db
):
    job = make_job(researcher, annotators=["farm_pool"], seed=21)
    post_comparisons(researcher, job["id"], marked_pairs(90))

    run_worker()

    annotations = annotations_of(researcher, job["id"])
    per_comparison = Counter(a["comparison_id"] for a in annotations)
    assert len(per_comparison) == 90 and set(per_comparison.values()) == {1}
    members = Counter(a["annotator"] for a in annotations)
    assert len(members) == 9  # every member got some work
    assert all(a["metadata"]["pool"] == "farm_pool" for a in annotations)
    assert all(a["parse_error"] is None for a in annotations)
    assert [a["preference"] for a in annotations if a["annotator"] != "farm_teacher_logprob"] == [
        expected_preference(a["comparison_id"])
        for a in annotations
        if a["annotator"] != "farm_teacher_logprob"
    ]


def test_pool_members_are_chosen_by_the_seed_not_by_the_process(
    researcher, make_job, post_comparisons, db
):
    chosen = []
    for seed in (7, 7, 8):
        job = make_job(researcher, annotators=["farm_pool"], seed=seed)
        post_comparisons(researcher, job["id"], marked_pairs(30))
        rows = db.execute(
            select(Task.comparison_id, Annotator.name)
            .join(Annotator, Annotator.id == Task.annotator_id)
            .where(Task.job_id == job["id"])
            .order_by(Task.comparison_id)
        ).all()
        chosen.append([name for _, name in rows])
    assert chosen[0] == chosen[1]
    assert chosen[0] != chosen[2]


def test_training_noise_is_marked_and_never_sent(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=["farm_pool_train"], seed=2)
    post_comparisons(researcher, job["id"], marked_pairs(200))

    run_worker()

    annotations = annotations_of(researcher, job["id"])
    noisy = [a for a in annotations if a["is_noisy_label"]]
    assert len(annotations) == 200
    assert 60 <= len(noisy) <= 140  # 2p = 0.5 of the labels are replaced by a fair coin
    assert all(a["preference"] in (1.0, 2.0) and a["cost_usd"] == 0 for a in noisy)
    sent = sum(len(r.prompt.split("<comparison number=")) - 1 or 1 for r in fake_llm.requests)
    assert sent == 200 - len(noisy)


def test_both_orders_records_agreement(
    fake_llm, client, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    config = {
        "name": "careful_twice",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt": "direct_choice",
        "parser": "label",
        "both_orders": True,
    }
    assert (
        client.post("/api/v1/annotators", json=config, headers=researcher.headers).status_code
        == 201
    )
    job = make_job(researcher, annotators=["careful_twice"])
    post_comparisons(researcher, job["id"], marked_pairs(4))

    run_worker()

    assert len(fake_llm.requests) == 8
    for a in annotations_of(researcher, job["id"]):
        assert a["metadata"]["both_orders"]["consistent"] is True
        assert a["preference"] == expected_preference(a["comparison_id"])


def test_both_orders_exposes_a_judge_that_always_picks_the_first(
    fake_llm, client, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    fake_llm.judge = lambda shown: 1.0  # always "A"
    config = {
        "name": "twice_biased",
        "provider": "anthropic",
        "model": "claude-haiku-4-5",
        "prompt": "direct_choice",
        "parser": "label",
        "both_orders": True,
    }
    assert (
        client.post("/api/v1/annotators", json=config, headers=researcher.headers).status_code
        == 201
    )
    job = make_job(researcher, annotators=["twice_biased"])
    post_comparisons(researcher, job["id"], marked_pairs(4))

    run_worker()

    for a in annotations_of(researcher, job["id"]):
        assert a["metadata"]["both_orders"] == {"preferences": [1.0, 2.0], "consistent": False} or (
            a["metadata"]["both_orders"] == {"preferences": [2.0, 1.0], "consistent": False}
        )
        assert a["preference"] == 1.5 and a["label"] == "tie"


def test_per_annotator_concurrency_is_respected(
    fake_llm, client, researcher, make_job, post_comparisons, run_worker
):
    fake_llm.latency = 0.05
    config = {
        "name": "two_at_a_time",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt": "direct_choice",
        "parser": "label",
        "max_concurrency": 2,
    }
    assert (
        client.post("/api/v1/annotators", json=config, headers=researcher.headers).status_code
        == 201
    )
    job = make_job(researcher, annotators=["two_at_a_time"])
    post_comparisons(researcher, job["id"], marked_pairs(12))

    run_worker(concurrency=32)

    assert len(fake_llm.requests) == 12
    assert fake_llm.max_in_flight == 2


def test_human_routed_comparisons_get_no_simulated_tasks(
    researcher, make_job, post_comparisons, db
):
    job = make_job(researcher, annotators=["longest"], routing={"policy": "human"})
    post_comparisons(researcher, job["id"], marked_pairs(5))
    assert db.scalars(select(Task)).all() == []
