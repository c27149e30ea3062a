"""What a rater sends from the rating page: a judgment, a skip, or a change of their last
judgment; one entry point, so the web handler calls one domain function."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.accounts.identity import Account
from app.config import Settings
from app.rating.assignment import JudgingError, JudgmentForm, skip_comparison, submit_judgment
from app.rating.pages import rater_job
from app.rating.quality import enforce_gold_floor
from app.rating.revisions import revise_judgment

ACTIONS = ("submit", "skip", "revise")


@dataclass(frozen=True)
class RaterPost:
    assignment_id: int
    action: str
    choice: str = ""
    reason: str = ""
    idle_seconds: float = 0.0


@dataclass(frozen=True)
class Outcome:
    job_id: int
    action: str
    choice: str
    assignment_id: int


def act(
    session: Session, user: Account, job_id: int, settings: Settings, post: RaterPost
) -> Outcome:
    """Carry out the rater's post, or raise a RequestError (and the request changes nothing)."""
    view = rater_job(session, user, job_id, settings)
    job, human = view.job, view.human
    if post.action not in ACTIONS:
        raise JudgingError(422, "Unknown action.")
    if post.action == "skip":
        skip_comparison(session, user, job, post.assignment_id)
        return Outcome(job.id, "skip", "skip", post.assignment_id)
    reason = post.reason.strip()
    if human.reason_required and not reason:
        raise JudgingError(422, "This job asks for a short reason with every judgment.")
    form = JudgmentForm(post.choice, reason, post.idle_seconds)
    if post.action == "submit":
        submit_judgment(session, user, job, post.assignment_id, form, view.working_version)
    else:
        revise_judgment(session, user, job, post.assignment_id, form, view.working_version)
    enforce_gold_floor(session, user, job.id, human)
    return Outcome(job.id, post.action, post.choice, post.assignment_id)
