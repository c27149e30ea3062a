"""The routing policies of a job (its `routing` JSON), as pure, seeded decisions.

A comparison's route says which queues it is in:
- `human`: raters only (k of them, the job's `human_overlap`);
- `simulated`: the job's simulated annotators only;
- `both`: both queues — the calibration slice of `mixed` and `active` jobs, and comparisons an
  `active` job escalated to humans after its simulated judgments.

Every choice is a seeded hash of the job seed and the comparison's content key (never Python's
`hash()`), so the same job routes the same comparisons in any process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.annotators.seeding import unit_interval

POLICIES = ("human", "simulated", "mixed", "active")
DEFAULT_MARGIN = 0.1
DEFAULT_CALIBRATION_FRACTION = 0.05

# Why an active policy sends a comparison to humans (`Comparison.escalation`).
ESCALATION_REASONS = ("disagreement", "uncertain", "low_agreement")


@dataclass(frozen=True)
class Routing:
    policy: str = "simulated"
    human_fraction: float = 0.0
    calibration_fraction: float = 0.0
    margin: float = DEFAULT_MARGIN
    agreement_floor: float | None = None
    human_budget: int | None = None
    export_agreement_floor: float | None = None

    @classmethod
    def of(cls, routing: dict[str, Any]) -> Routing:
        policy = routing.get("policy", "simulated")
        default_calibration = DEFAULT_CALIBRATION_FRACTION if policy in ("mixed", "active") else 0
        return cls(
            policy=policy,
            human_fraction=routing.get("human_fraction") or 0.0,
            calibration_fraction=routing.get("calibration_fraction", default_calibration) or 0.0,
            margin=DEFAULT_MARGIN if routing.get("margin") is None else routing["margin"],
            agreement_floor=routing.get("agreement_floor"),
            human_budget=routing.get("human_budget"),
            export_agreement_floor=routing.get("export_agreement_floor"),
        )


def initial_route(routing: Routing, seed: int, comparison_key: str) -> str:
    """The route a new comparison starts on."""
    if routing.policy == "human":
        return "human"
    if routing.policy == "simulated":
        return "simulated"
    draw = unit_interval("route", seed, comparison_key)
    if draw < routing.calibration_fraction:
        return "both"
    if routing.policy == "mixed" and draw < routing.calibration_fraction + routing.human_fraction:
        return "human"
    return "simulated"


@dataclass(frozen=True)
class SimulatedJudgment:
    annotator: str
    preference: float


def escalation_reason(
    routing: Routing,
    judgments: list[SimulatedJudgment],
    human_agreement: dict[str, float],
) -> str | None:
    """Why an `active` job should send this simulated-only comparison to humans, or None.

    - `disagreement`: the simulated annotators' decisive sides differ (ties count as a side);
    - `uncertain`: a soft preference lies within `margin` of 1.5;
    - `low_agreement`: an annotator's measured human agreement is below `agreement_floor`.
    """
    if routing.policy != "active" or not judgments:
        return None
    sides = {_side(j.preference) for j in judgments}
    if len(sides) > 1:
        return "disagreement"
    if any(abs(j.preference - 1.5) <= routing.margin for j in judgments):
        return "uncertain"
    if routing.agreement_floor is not None:
        for judgment in judgments:
            agreement = human_agreement.get(judgment.annotator)
            if agreement is not None and agreement < routing.agreement_floor:
                return "low_agreement"
    return None


def _side(preference: float) -> int:
    return 0 if preference == 1.5 else (1 if preference < 1.5 else 2)
