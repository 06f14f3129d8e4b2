"""The records of incidents, noncompliance reports and compliance facts.

Each write inserts one row and appends its ledger entry through the store's
public :func:`scaleguard.store.repo.append_record`, in the caller's write
transaction, so a row and its entry exist together or not at all. Rows are
never updated; readers fold the events of an incident or report in order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from scaleguard.errors import NotFoundError
from scaleguard.ledger.canonical import format_time
from scaleguard.store import repo
from scaleguard.store.db import Tx
from scaleguard.store.tables import Base
from scaleguard.store.tables_incidents import (
    ComplianceRecordRow,
    IncidentEventRow,
    IncidentRow,
    NcEventRow,
    NcReportRow,
)

R = TypeVar("R")


@dataclass(frozen=True)
class Incident:
    id: int
    title: str
    description: str | None
    kinds: tuple[str, ...]
    models: tuple[str, ...]
    imminent_risk: bool
    internal_use: bool
    discovered_at: str
    determined_at: str | None
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class IncidentEvent:
    id: int
    incident_id: int
    action: str
    status: str | None
    note: str | None
    at: str | None
    regime: str | None
    obligation: str | None
    sha256: str | None
    amends: int | None
    details: Mapping[str, Any]
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class NcReport:
    id: int
    anonymous: bool
    reporter: str | None
    recipients: tuple[str, ...]
    concerns_rso: bool
    text: str
    token_sha256: str
    received_on: date
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class NcEvent:
    id: int
    report_id: int
    action: str
    status: str
    substantiated: bool | None
    material_risk: bool | None
    note: str | None
    on_date: date
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class ComplianceRecord:
    id: int
    kind: str
    subject: str
    on_date: date
    url: str | None
    sha256: str | None
    note: str | None
    created_at: str
    created_by: str
    ledger_index: int


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _record(cls: type[R], values: Mapping[str, Any]) -> R:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        value = values[f.name]
        out[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**out)


def _insert(
    tx: Tx,
    table: type[Base],
    cls: type[R],
    kind: str,
    subject: str,
    values: dict[str, Any],
    *,
    at: datetime | None = None,
) -> R:
    """One row plus its ledger entry; ``at`` overrides the time (anonymous reports: the day)."""
    moment = at or repo.now()
    column = table.__table__.c.id
    row_id = int(tx.execute(select(func.coalesce(func.max(column) + 1, 1))).scalar_one())
    values = {"id": row_id, **values}
    entry = {k: _plain(v) for k, v in values.items()}
    idx = repo.append_record(tx, kind, subject, entry, at=moment)
    row = {**values, "created_at": format_time(moment), "ledger_index": idx}
    tx.execute(insert(table.__table__), row)  # type: ignore[arg-type]
    return _record(cls, row)


def _rows(session: Session, cls: type[R], query: Any) -> list[R]:
    return [_record(cls, dict(r._mapping)) for r in session.execute(query)]


# -- incidents -------------------------------------------------------------------


def add_incident(tx: Tx, values: dict[str, Any]) -> Incident:
    return _insert(tx, IncidentRow, Incident, "incident", str(values["title"])[:200], values)


def add_incident_event(tx: Tx, values: dict[str, Any]) -> IncidentEvent:
    subject = f"incident {values['incident_id']}: {values['action']}"
    return _insert(tx, IncidentEventRow, IncidentEvent, "incident-event", subject, values)


def incidents(session: Session) -> list[Incident]:
    table = IncidentRow.__table__
    return _rows(session, Incident, select(table).order_by(table.c.id))


def incident(session: Session, incident_id: int) -> Incident:
    table = IncidentRow.__table__
    found = _rows(session, Incident, select(table).where(table.c.id == incident_id))
    if not found:
        raise NotFoundError(
            f"no incident {incident_id}", hint="list them with 'scaleguard incidents list'"
        )
    return found[0]


def incident_events(session: Session, incident_id: int | None = None) -> list[IncidentEvent]:
    table = IncidentEventRow.__table__
    query = select(table)
    if incident_id is not None:
        query = query.where(table.c.incident_id == incident_id)
    return _rows(session, IncidentEvent, query.order_by(table.c.id))


# -- noncompliance -------------------------------------------------------------------


def add_nc_report(tx: Tx, values: dict[str, Any], *, at: datetime | None) -> NcReport:
    return _insert(tx, NcReportRow, NcReport, "nc-report", "noncompliance report", values, at=at)


def add_nc_event(tx: Tx, values: dict[str, Any], *, at: datetime | None = None) -> NcEvent:
    subject = f"noncompliance report {values['report_id']}: {values['action']}"
    return _insert(tx, NcEventRow, NcEvent, "nc-event", subject, values, at=at)


def nc_reports(session: Session) -> list[NcReport]:
    table = NcReportRow.__table__
    return _rows(session, NcReport, select(table).order_by(table.c.id))


def nc_report(session: Session, report_id: int) -> NcReport:
    table = NcReportRow.__table__
    found = _rows(session, NcReport, select(table).where(table.c.id == report_id))
    if not found:
        raise NotFoundError(
            f"no noncompliance report {report_id}",
            hint="list them with 'scaleguard noncompliance list'",
        )
    return found[0]


def nc_report_by_token(session: Session, token_sha256: str) -> NcReport | None:
    table = NcReportRow.__table__
    found = _rows(session, NcReport, select(table).where(table.c.token_sha256 == token_sha256))
    return found[0] if found else None


def nc_events(session: Session, report_id: int | None = None) -> list[NcEvent]:
    table = NcEventRow.__table__
    query = select(table)
    if report_id is not None:
        query = query.where(table.c.report_id == report_id)
    return _rows(session, NcEvent, query.order_by(table.c.id))


# -- compliance records -------------------------------------------------------------


def add_compliance_record(tx: Tx, values: dict[str, Any]) -> ComplianceRecord:
    subject = f"{values['kind']}: {values['subject']}"
    return _insert(tx, ComplianceRecordRow, ComplianceRecord, "compliance-record", subject, values)


def compliance_records(session: Session) -> list[ComplianceRecord]:
    table = ComplianceRecordRow.__table__
    return _rows(session, ComplianceRecord, select(table).order_by(table.c.id))
