"""Incident, noncompliance and compliance rows are proven against the ledger before use.

Every deadline, status and clock a regulator, the board or a reporter relies
on is computed from ``incidents``, ``incident_events``, ``nc_reports``,
``nc_events`` and ``compliance_records`` rows, which anyone who can write the
database can edit, insert or delete. So each read that computes or shows one
first proves, in the same transaction, that every row it is about to read is
what the workspace's key signed
(:func:`scaleguard.store.ledger.rows.check_scopes`), and that none the key
signed is missing: the signer's census counts incidents and noncompliance
reports by their id and their events by the incident or report they belong
to, so deleting an incident, the event that resolved it or the report that
met its deadline is refused by a process that never saw the row.

The scopes are narrow where one incident or report is acted on (its row and
its events), whole tables where a list or a clock covers every one.
"""

from __future__ import annotations

from functools import cache

from scaleguard.store.ledger.scopes import Scope, kind_scope

__all__ = [
    "all_reports_scopes",
    "compliance_scopes",
    "frameworks_scope",
    "incident_scopes",
    "register_scopes",
    "report_scopes",
    "reports_scope",
]


def _one(kind: str, event_kind: str, ident: int) -> tuple[Scope, ...]:
    """Row ``ident`` (an entry of ``kind``, counted by its id) and its events."""
    return (kind_scope(kind, ident), kind_scope(event_kind, ident))


def incident_scopes(incident_id: int) -> tuple[Scope, ...]:
    """Incident ``incident_id`` and every event of it."""
    return _one("incident", "incident-event", incident_id)


@cache
def register_scopes() -> tuple[Scope, ...]:
    """Every incident and every incident event."""
    return (
        kind_scope("incident"),
        kind_scope("incident-event"),
    )


def report_scopes(report_id: int) -> tuple[Scope, ...]:
    """Noncompliance report ``report_id`` and every event of it."""
    return _one("nc-report", "nc-event", report_id)


@cache
def reports_scope() -> Scope:
    """Every noncompliance report (a follow-up token is looked up among all of them)."""
    return kind_scope("nc-report")


@cache
def all_reports_scopes() -> tuple[Scope, ...]:
    """Every noncompliance report and every event of them."""
    return (reports_scope(), kind_scope("nc-event"))


@cache
def frameworks_scope() -> Scope:
    """Every framework version the workspace used (whose reviews and changes are due)."""
    return kind_scope("framework")


@cache
def compliance_scopes() -> tuple[Scope, ...]:
    """What the compliance duties are computed from besides noncompliance reports: every
    compliance record, the model registry (release dates) and the frameworks used."""
    return (kind_scope("compliance-record"), kind_scope("model"), frameworks_scope())
