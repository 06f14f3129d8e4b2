"""Recorded decisions as their readers see them: only what the ledger's key signed, all of it.

A decision's record (outcome, explanation, who decided) is what a safety officer,
a board member or a regulator reads with ``decisions list`` and ``show`` and in
the console. Its row can be edited or deleted by anyone who can write the
database, so each read proves the decision rows it shows against the ledger and
that none the key signed is missing
(:func:`scaleguard.workspace.rowcheck.check_rows`).
"""

from __future__ import annotations

from scaleguard.errors import NotFoundError
from scaleguard.store import repo
from scaleguard.store.ledger.scopes import Scope, kind_scope
from scaleguard.store.records import Decision
from scaleguard.workspace.rowcheck import check_rows
from scaleguard.workspace.workspace import Workspace

__all__ = ["decision_scope", "recorded_decision", "recorded_decisions"]


def decision_scope(model: str | None = None) -> Scope:
    """Every decision (about ``model`` when given), each one the key signed."""
    return kind_scope("decision", model)


def recorded_decisions(ws: Workspace, model: str | None = None) -> list[Decision]:
    """Every recorded decision (about ``model``), oldest first, checked against the ledger."""
    with ws.store.read() as s:
        check_rows(s, ws, [decision_scope(model)], "list the decisions")
        return repo.decisions(s, model)


def recorded_decision(ws: Workspace, decision_id: int) -> tuple[Decision, list[Decision]]:
    """Decision ``decision_id`` and every recorded decision (to find the one made beside it),
    checked against the ledger; NotFoundError when there is no such decision."""
    with ws.store.read() as s:
        check_rows(s, ws, [decision_scope()], f"show decision #{decision_id}")
        every = repo.decisions(s)
    found = next((d for d in every if d.id == decision_id), None)
    if found is None:
        raise NotFoundError(f"no decision #{decision_id}", hint="see 'scaleguard decisions list'")
    return found, every
