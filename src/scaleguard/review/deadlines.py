"""Review deadlines from the framework's ``external_review`` section: pure.

* **share**: the report goes to each reviewer within ``share_within`` (RSP 3.x:
  one week) of its submission to its approvers (``scaleguard report submit``).
  The clock starts at the submission; the reviewer's first access ends it.
* **commentary**: public commentary is requested within ``commentary_within``
  (RSP 3.x: 30 days) of the reviewer receiving the report (their first
  access); the final statement ends it.

Each deadline is ``not started`` (no start yet), ``pending`` (open, not yet
due), ``met``, ``late`` (done after the due date) or ``overdue`` (open and past
due); ``none`` when the framework sets no such deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from scaleguard.framework.durations import Duration
from scaleguard.framework.model import ExternalReview

Kind = Literal["share", "commentary"]
State = Literal["not started", "pending", "met", "late", "overdue", "none"]


@dataclass(frozen=True)
class Deadline:
    kind: Kind
    reviewer: str
    state: State
    starts: date | None
    due: date | None
    done: date | None
    within: str | None
    description: str

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


_WHAT = {
    "share": ("report to the reviewer", "submission", "first access"),
    "commentary": ("public commentary", "receipt", "final statement"),
}


def _deadline(
    kind: Kind,
    reviewer: str,
    within: Duration | None,
    starts: date | None,
    done: date | None,
    as_of: date,
) -> Deadline:
    what, start_event, end_event = _WHAT[kind]
    if within is None:
        return Deadline(
            kind,
            reviewer,
            "none",
            starts,
            None,
            done,
            None,
            f"the framework sets no {what} deadline",
        )
    if starts is None:
        return Deadline(
            kind,
            reviewer,
            "not started",
            None,
            None,
            done,
            str(within),
            f"{what}: within {within} of the {start_event}, which is not recorded yet",
        )
    due = within.add_to(starts)
    state: State
    if done is not None:
        state = "met" if done <= due else "late"
        text = f"{what}: due {due.isoformat()}, {end_event} on {done.isoformat()}"
    elif as_of > due:
        state = "overdue"
        text = f"{what}: due {due.isoformat()}, {(as_of - due).days} day(s) overdue"
    else:
        state = "pending"
        text = f"{what}: due {due.isoformat()} ({(due - as_of).days} day(s) left)"
    return Deadline(kind, reviewer, state, starts, due, done, str(within), text)


def share_deadline(
    review: ExternalReview | None,
    reviewer: str,
    *,
    submitted_on: date | None,
    first_access: date | None,
    as_of: date,
) -> Deadline:
    within = review.share_within if review else None
    return _deadline("share", reviewer, within, submitted_on, first_access, as_of)


def commentary_deadline(
    review: ExternalReview | None,
    reviewer: str,
    *,
    received_on: date | None,
    statement_on: date | None,
    as_of: date,
) -> Deadline:
    within = review.commentary_within if review else None
    return _deadline("commentary", reviewer, within, received_on, statement_on, as_of)


def review_window_end(review: ExternalReview | None, start: date) -> date:
    """The last day a review started on ``start`` is expected to run (for screening)."""
    if review is None or review.commentary_within is None:
        return start
    return review.commentary_within.add_to(start)
