"""Routing policies decide, reproducibly from the seed, who judges each comparison."""

from __future__ import annotations

from collections import Counter

import pytest

from app.routing.policy import Routing, SimulatedJudgment, escalation_reason, initial_route

KEYS = [f"comparison-{n}" for n in range(4000)]


def routes(routing: Routing, seed: int = 11) -> Counter[str]:
    return Counter(initial_route(routing, seed, key) for key in KEYS)


def test_human_policy_routes_everything_to_humans() -> None:
    assert routes(Routing(policy="human")) == {"human": len(KEYS)}


def test_simulated_policy_routes_everything_to_annotators() -> None:
    assert routes(Routing(policy="simulated")) == {"simulated": len(KEYS)}


def test_mixed_policy_splits_by_the_fractions() -> None:
    counts = routes(Routing(policy="mixed", human_fraction=0.3, calibration_fraction=0.1))
    assert counts["both"] / len(KEYS) == pytest.approx(0.1, abs=0.02)
    assert counts["human"] / len(KEYS) == pytest.approx(0.3, abs=0.03)
    assert counts["simulated"] / len(KEYS) == pytest.approx(0.6, abs=0.03)


def test_active_policy_starts_simulated_with_a_calibration_slice() -> None:
    counts = routes(Routing(policy="active", calibration_fraction=0.2))
    assert set(counts) == {"simulated", "both"}
    assert counts["both"] / len(KEYS) == pytest.approx(0.2, abs=0.025)


def test_the_same_seed_routes_the_same_comparisons() -> None:
    routing = Routing(policy="mixed", human_fraction=0.5)
    first = [initial_route(routing, 3, key) for key in KEYS]
    assert first == [initial_route(routing, 3, key) for key in KEYS]
    assert first != [initial_route(routing, 4, key) for key in KEYS]


def test_routing_json_defaults() -> None:
    routing = Routing.of({"policy": "active"})
    assert routing.calibration_fraction == 0.05
    assert routing.margin == 0.1
    assert Routing.of({"policy": "human"}).calibration_fraction == 0


ACTIVE = Routing(policy="active", margin=0.1, agreement_floor=0.6)


def test_disagreeing_simulated_judgments_escalate() -> None:
    judgments = [SimulatedJudgment("a", 1.0), SimulatedJudgment("b", 2.0)]
    assert escalation_reason(ACTIVE, judgments, {}) == "disagreement"


def test_a_soft_preference_near_a_tie_escalates() -> None:
    assert escalation_reason(ACTIVE, [SimulatedJudgment("a", 1.58)], {}) == "uncertain"


def test_a_confident_agreeing_judgment_does_not_escalate() -> None:
    judgments = [SimulatedJudgment("a", 1.9), SimulatedJudgment("b", 2.0)]
    assert escalation_reason(ACTIVE, judgments, {"a": 0.7, "b": 0.8}) is None


def test_an_annotator_below_the_agreement_floor_escalates() -> None:
    assert escalation_reason(ACTIVE, [SimulatedJudgment("a", 2.0)], {"a": 0.5}) == "low_agreement"


def test_other_policies_never_escalate() -> None:
    judgments = [SimulatedJudgment("a", 1.0), SimulatedJudgment("b", 2.0)]
    assert escalation_reason(Routing(policy="simulated"), judgments, {}) is None
