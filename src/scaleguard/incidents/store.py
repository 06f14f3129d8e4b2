"""The records of incidents, noncompliance reports and compliance facts.

Each write inserts one row and appends its ledger entry through the store's
public :func:`scaleguard.store.recording.create_record`, in the caller's write
transaction, so a row and its entry exist together or not at all. Rows are
never updated; readers fold the events of an incident or report in order.
The readers here take the rows as the database holds them: the operations
that compute a clock or a status from them (:mod:`.service`,
:mod:`.noncompliance`, :mod:`.compliance`) prove them first (:mod:`.checks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from scaleguard.errors import NotFoundError
from scaleguard.store.db import Tx
from scaleguard.store.recording import create_record, first_record, list_records
from scaleguard.store.tables_incidents import (
    ComplianceRecordRow,
    IncidentEventRow,
    IncidentRow,
    NcEventRow,
    NcReportRow,
)


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


# -- incidents -------------------------------------------------------------------


def add_incident(tx: Tx, values: dict[str, Any]) -> Incident:
    return create_record(tx, IncidentRow, Incident, "incident", str(values["title"])[:200], values)


def add_incident_event(tx: Tx, values: dict[str, Any]) -> IncidentEvent:
    subject = f"incident {values['incident_id']}: {values['action']}"
    return create_record(tx, IncidentEventRow, IncidentEvent, "incident-event", subject, values)


def incidents(session: Session) -> list[Incident]:
    return list_records(session, IncidentRow, Incident)


def incident(session: Session, incident_id: int) -> Incident:
    found = first_record(session, IncidentRow, Incident, id=incident_id)
    if found is None:
        raise NotFoundError(
            f"no incident {incident_id}", hint="list them with 'scaleguard incidents list'"
        )
    return found


def incident_events(session: Session, incident_id: int | None = None) -> list[IncidentEvent]:
    return list_records(session, IncidentEventRow, IncidentEvent, incident_id=incident_id)


# -- noncompliance -------------------------------------------------------------------


def add_nc_report(tx: Tx, values: dict[str, Any], *, at: datetime | None) -> NcReport:
    return create_record(
        tx, NcReportRow, NcReport, "nc-report", "noncompliance report", values, at=at
    )


def add_nc_event(tx: Tx, values: dict[str, Any], *, at: datetime | None = None) -> NcEvent:
    subject = f"noncompliance report {values['report_id']}: {values['action']}"
    return create_record(tx, NcEventRow, NcEvent, "nc-event", subject, values, at=at)


def nc_reports(session: Session) -> list[NcReport]:
    return list_records(session, NcReportRow, NcReport)


def nc_report(session: Session, report_id: int) -> NcReport:
    found = first_record(session, NcReportRow, NcReport, id=report_id)
    if found is None:
        raise NotFoundError(
            f"no noncompliance report {report_id}",
            hint="list them with 'scaleguard noncompliance list'",
        )
    return found


def nc_report_by_token(session: Session, token_sha256: str) -> NcReport | None:
    return first_record(session, NcReportRow, NcReport, token_sha256=token_sha256)


def nc_events(session: Session, report_id: int | None = None) -> list[NcEvent]:
    return list_records(session, NcEventRow, NcEvent, report_id=report_id)


# -- compliance records -------------------------------------------------------------


def add_compliance_record(tx: Tx, values: dict[str, Any]) -> ComplianceRecord:
    subject = f"{values['kind']}: {values['subject']}"
    return create_record(
        tx, ComplianceRecordRow, ComplianceRecord, "compliance-record", subject, values
    )


def compliance_records(session: Session) -> list[ComplianceRecord]:
    return list_records(session, ComplianceRecordRow, ComplianceRecord)
