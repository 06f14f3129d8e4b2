"""Prove the roadmap rows a grade, a listing or a change reads against the signed ledger.

The report card the public and regulators read is computed from the
``roadmap_goals`` and ``roadmap_updates`` rows, which anyone who can write the
database can edit, insert or delete: delete a goal that was missed, or the
update that said a goal was blocked or that moved its target later, change a
goal's target date, and the card improves. So every read that grades, lists or
shows goals, and every change that is checked against the recorded history,
first proves in the same session or write transaction the rows it is about to
read (:func:`scaleguard.workspace.rowcheck.check_rows`): each is the entry the
workspace's key signed, and none the key signed is missing. The signer's census
counts goals and their updates by the goal's id (``SUBJECT_FIELD`` in
:mod:`scaleguard.store.ledger.census`), so a goal asked for by its id is
refused when its row was deleted, not reported as unknown.
"""

from __future__ import annotations

from functools import cache

from scaleguard.store.ledger.scopes import Scope, kind_scope

__all__ = ["goal_scopes", "roadmap_scopes"]


@cache
def roadmap_scopes() -> tuple[Scope, ...]:
    """Every goal and every update: what a report card, a listing or a diff reads."""
    return (kind_scope("roadmap-goal"), kind_scope("roadmap-update"))


def goal_scopes(goal: str) -> tuple[Scope, ...]:
    """Goal ``goal``'s row and every update of it (none, for a goal never recorded)."""
    return (kind_scope("roadmap-goal", goal), kind_scope("roadmap-update", goal))
