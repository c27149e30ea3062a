"""`--dry-run`: what a submission would do and what it would cost, before any paid call.

The routing shares are the expected ones (the server draws each comparison's route from a
seeded hash); prices come from the server's `POST /api/v1/annotators/validate`, which renders
the prompts of sample rows of the file and counts their tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from prefarm_client.cli.common import console

if TYPE_CHECKING:
    from prefarm_client.client import PrefarmClient

SAMPLE_ROWS = 20
# Shares of comparisons judged by humans when a policy gives no fraction (the server's defaults).
DEFAULT_CALIBRATION = {"mixed": 0.05, "active": 0.05}


@dataclass(frozen=True)
class AnnotatorCost:
    name: str
    comparisons: int
    usd_per_1000: float
    prompt_tokens_per_comparison: float

    @property
    def usd(self) -> float:
        return self.comparisons * self.usd_per_1000 / 1000


@dataclass(frozen=True)
class Plan:
    comparisons: int
    policy: str
    simulated: int  # comparisons with simulated tasks (routes simulated and both)
    human: int  # comparisons for raters (routes human and both), before any escalation
    human_overlap: int
    annotators: list[AnnotatorCost]

    @property
    def usd(self) -> float:
        return sum(a.usd for a in self.annotators)


def _shares(routing: dict[str, Any]) -> tuple[float, float]:
    """(share with simulated tasks, share for humans) of a routing policy."""
    policy = routing.get("policy", "simulated")
    if policy == "human":
        return 0.0, 1.0
    if policy == "simulated":
        return 1.0, 0.0
    calibration = routing.get("calibration_fraction")
    if calibration is None:
        calibration = DEFAULT_CALIBRATION[policy]
    human_only = (routing.get("human_fraction") or 0.0) if policy == "mixed" else 0.0
    return 1.0 - human_only, human_only + calibration


def estimate(client: PrefarmClient, job: dict[str, Any], rows: list[dict[str, Any]]) -> Plan:
    routing = job.get("routing") or {"policy": "simulated"}
    simulated_share, human_share = _shares(routing)
    simulated = round(len(rows) * simulated_share)
    sample = rows[:SAMPLE_ROWS]
    costs = []
    for name in job.get("annotators") or []:
        priced = client.validate_annotator(name=name, comparisons=sample)
        costs.append(
            AnnotatorCost(
                name=name,
                comparisons=simulated,
                usd_per_1000=priced["usd_per_1000_comparisons"],
                prompt_tokens_per_comparison=priced["prompt_tokens_per_comparison"],
            )
        )
    return Plan(
        comparisons=len(rows),
        policy=str(routing.get("policy", "simulated")),
        simulated=simulated,
        human=round(len(rows) * human_share),
        human_overlap=int(job.get("human_overlap") or 1),
        annotators=costs,
    )


def print_plan(plan: Plan, budget_usd: float | None) -> None:
    from rich.table import Table

    typer.echo(
        f"plan: {plan.comparisons} comparisons, routing {plan.policy}: about {plan.simulated} "
        f"for simulated annotators, {plan.human} for raters ({plan.human_overlap} each)"
    )
    if plan.policy == "active":
        typer.echo("  (active routing may send more to raters once the simulated judgments are in)")
    shown = Table("annotator", "comparisons", "prompt tokens each", "$ per 1,000", "$ estimated")
    for cost in plan.annotators:
        shown.add_row(
            cost.name,
            str(cost.comparisons),
            f"{cost.prompt_tokens_per_comparison:.0f}",
            f"{cost.usd_per_1000:.4f}",
            f"{cost.usd:.4f}",
        )
    if plan.annotators:
        console.print(shown)
    line = f"estimated cost: ${plan.usd:.4f} (output tokens counted at each config's max_tokens)"
    if budget_usd is not None:
        line += f"; budget ${budget_usd:.2f}"
        if plan.usd > budget_usd:
            line += ": the budget stops the job before the end"
    typer.echo(line)
