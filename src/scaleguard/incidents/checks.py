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
from typing import TYPE_CHECKING

from sqlalchemy import Table

from scaleguard.store.ledger.census import Counted
from scaleguard.store.ledger.rows import Scope
from scaleguard.store.tables import metadata

if TYPE_CHECKING:
    pass

__all__ = [
    "all_reports_scopes",
    "compliance_scopes",
    "frameworks_scope",
    "incident_scopes",
    "register_scopes",
    "report_scopes",
    "reports_scope",
]

_KEPT = 1024
#: incident id -> the scopes of the incident and its events, which keep their SQL
_incident_scopes: dict[int, tuple[Scope, ...]] = {}
#: report id -> the scopes of the report and its events
_report_scopes: dict[int, tuple[Scope, ...]] = {}


def _table(name: str) -> Table:
    return metadata.tables[name]


def _one(
    cache_: dict[int, tuple[Scope, ...]],
    ident: int,
    parent: tuple[str, str],
    child: tuple[str, str, str],
) -> tuple[Scope, ...]:
    """The row ``ident`` of table ``parent[0]`` (counted as ``parent[1]`` by its id) and the
    rows of ``child[0]`` whose column ``child[2]`` names it (counted as ``child[1]``)."""
    found = cache_.get(ident)
    if found is None:
        (table, kind), (events, event_kind, column) = parent, child
        head, rows = _table(table), _table(events)
        key, subject = f"id {ident}", (str(ident),)
        found = (
            Scope((table, key), head, (head.c.id == ident,), Counted(kind, subject)),
            Scope((events, key), rows, (rows.c[column] == ident,), Counted(event_kind, subject)),
        )
        if len(cache_) >= _KEPT:
            cache_.clear()
        cache_[ident] = found
    return found


def incident_scopes(incident_id: int) -> tuple[Scope, ...]:
    """Incident ``incident_id`` and every event of it."""
    return _one(
        _incident_scopes,
        incident_id,
        ("incidents", "incident"),
        ("incident_events", "incident-event", "incident_id"),
    )


@cache
def register_scopes() -> tuple[Scope, ...]:
    """Every incident and every incident event."""
    return (
        Scope(("incidents", None), _table("incidents"), (), Counted("incident")),
        Scope(("incident_events", None), _table("incident_events"), (), Counted("incident-event")),
    )


def report_scopes(report_id: int) -> tuple[Scope, ...]:
    """Noncompliance report ``report_id`` and every event of it."""
    return _one(
        _report_scopes,
        report_id,
        ("nc_reports", "nc-report"),
        ("nc_events", "nc-event", "report_id"),
    )


@cache
def reports_scope() -> Scope:
    """Every noncompliance report (a follow-up token is looked up among all of them)."""
    return Scope(("nc_reports", None), _table("nc_reports"), (), Counted("nc-report"))


@cache
def all_reports_scopes() -> tuple[Scope, ...]:
    """Every noncompliance report and every event of them."""
    events = Scope(("nc_events", None), _table("nc_events"), (), Counted("nc-event"))
    return (reports_scope(), events)


@cache
def frameworks_scope() -> Scope:
    """Every framework version the workspace used (whose reviews and changes are due)."""
    return Scope(("frameworks_loaded", None), _table("frameworks_loaded"), (), Counted("framework"))


@cache
def compliance_scopes() -> tuple[Scope, ...]:
    """What the compliance duties are computed from besides noncompliance reports: every
    compliance record, the model registry (release dates) and the frameworks used."""
    records = _table("compliance_records")
    return (
        Scope(("compliance_records", None), records, (), Counted("compliance-record")),
        Scope(("models", None), _table("models"), (), Counted("model")),
        frameworks_scope(),
    )
