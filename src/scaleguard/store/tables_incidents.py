"""Tables of incidents, noncompliance reports and compliance records (0005_incidents).

Record tables like those in :mod:`scaleguard.store.tables`: ids assigned
under the write lock, one ledger entry per row, never updated or deleted.
An incident's later facts (determination, status, submitted reports,
resolution) are ``incident_events`` rows pointing at it; a noncompliance
report's handling is ``nc_events`` rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from scaleguard.store.tables import Base, BigId, Time, _ledger_fk

INCIDENT_TABLES = ("incidents", "incident_events", "nc_reports", "nc_events", "compliance_records")

#: Ledger entry kind -> (table, time column), for ledger verification.
INCIDENT_RECORD_KINDS: dict[str, tuple[str, str]] = {
    "incident": ("incidents", "created_at"),
    "incident-event": ("incident_events", "created_at"),
    "nc-report": ("nc_reports", "created_at"),
    "nc-event": ("nc_events", "created_at"),
    "compliance-record": ("compliance_records", "created_at"),
}


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    title: Mapped[str]
    description: Mapped[str | None]
    kinds: Mapped[Any]
    models: Mapped[Any]
    imminent_risk: Mapped[bool]
    internal_use: Mapped[bool]
    discovered_at: Mapped[str] = mapped_column(Time)
    determined_at: Mapped[str | None] = mapped_column(Time)
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class IncidentEventRow(Base):
    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    incident_id: Mapped[int] = mapped_column(BigId, ForeignKey("incidents.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None]
    at: Mapped[str | None] = mapped_column(Time)
    regime: Mapped[str | None] = mapped_column(String(64))
    obligation: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    amends: Mapped[int | None] = mapped_column(BigId)
    details: Mapped[Any]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class NcReportRow(Base):
    __tablename__ = "nc_reports"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    anonymous: Mapped[bool]
    reporter: Mapped[str | None]
    recipients: Mapped[Any]
    concerns_rso: Mapped[bool]
    text: Mapped[str]
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    received_on: Mapped[date]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class NcEventRow(Base):
    __tablename__ = "nc_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("nc_reports.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    substantiated: Mapped[bool | None]
    material_risk: Mapped[bool | None]
    note: Mapped[str | None]
    on_date: Mapped[date]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ComplianceRecordRow(Base):
    __tablename__ = "compliance_records"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str]
    on_date: Mapped[date]
    url: Mapped[str | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()
