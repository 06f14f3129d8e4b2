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

from scaleguard.store.ledger.census import Counted
from scaleguard.store.ledger.rows import Scope
from scaleguard.store.tables import metadata

__all__ = ["goal_scopes", "roadmap_scopes"]

_KEPT = 1024
#: goal id -> the scopes of the goal and its updates, which keep their compiled SQL
_goal_scopes: dict[str, tuple[Scope, ...]] = {}


@cache
def roadmap_scopes() -> tuple[Scope, ...]:
    """Every goal and every update: what a report card, a listing or a diff reads."""
    goals, updates = metadata.tables["roadmap_goals"], metadata.tables["roadmap_updates"]
    return (
        Scope(("roadmap_goals", None), goals, (), Counted("roadmap-goal")),
        Scope(("roadmap_updates", None), updates, (), Counted("roadmap-update")),
    )


def goal_scopes(goal: str) -> tuple[Scope, ...]:
    """Goal ``goal``'s row and every update of it (none, for a goal never recorded)."""
    found = _goal_scopes.get(goal)
    if found is None:
        goals, updates = metadata.tables["roadmap_goals"], metadata.tables["roadmap_updates"]
        key, subject = f"goal = {goal!r}", (goal,)
        found = (
            Scope(
                ("roadmap_goals", key),
                goals,
                (goals.c.goal == goal,),
                Counted("roadmap-goal", subject),
            ),
            Scope(
                ("roadmap_updates", key),
                updates,
                (updates.c.goal == goal,),
                Counted("roadmap-update", subject),
            ),
        )
        if len(_goal_scopes) >= _KEPT:
            _goal_scopes.clear()
        _goal_scopes[goal] = found
    return found
