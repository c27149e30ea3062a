"""Who is making a request: the account as it was read when the request was authenticated.

Authentication runs in a unit of work of its own (app.http.deps), so handlers get this frozen
snapshot, never a live `User` row; a change to a user goes through the request's session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.db.models import User


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    role: str
    paused_at: datetime | None
    paused_reason: str | None
    qc_since: datetime | None

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(
            id=user.id,
            email=user.email,
            role=user.role,
            paused_at=user.paused_at,
            paused_reason=user.paused_reason,
            qc_since=user.qc_since,
        )

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
