"""Report records: the frozen values and the only queries on the report tables.

Every write goes through :func:`scaleguard.store.recording.create_record`, so each
record and its ledger entry are written together under the write lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from scaleguard.errors import NotFoundError
from scaleguard.store import Tx
from scaleguard.store.recording import create_record, first_record, list_records
from scaleguard.store.tables_reports import (
    ReportPublicationRow,
    ReportRedactionRow,
    ReportReviewerEditionRow,
    ReportSubmissionRow,
    RiskReportRow,
)


@dataclass(frozen=True)
class RiskReport:
    id: int
    period: str
    period_start: date
    period_end: date
    coverage_date: date
    framework_ref: str
    models: tuple[str, ...]
    content: Mapping[str, Any]
    content_sha256: str
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class RedactionRecord:
    id: int
    report_id: int
    section: str
    span: str | None
    category: str
    justification: str
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class Submission:
    id: int
    report_id: int
    submitted_on: date
    submitted_to: str
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class Publication:
    id: int
    report_id: int
    edition: str
    format: str
    sha256: str
    size: int
    edition_sha256: str
    redaction_ids: tuple[int, ...]
    path: str | None
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class ReviewerEdition:
    """A written reviewer edition: salted commitments, never a plain hash of its bytes."""

    id: int
    report_id: int
    format: str
    commitment: str
    size: int
    edition_commitment: str
    redaction_ids: tuple[int, ...]
    path: str | None
    created_at: str
    created_by: str
    ledger_index: int


def record_date(created_at: str) -> date:
    """The UTC day of a record's RFC 3339 time."""
    return date.fromisoformat(created_at[:10])


def add_report(
    tx: Tx,
    *,
    period: str,
    period_start: date,
    period_end: date,
    coverage_date: date,
    framework_ref: str,
    models: Sequence[str],
    content: Mapping[str, Any],
    content_sha256: str,
    created_by: str,
) -> RiskReport:
    values = {
        "period": period,
        "period_start": period_start,
        "period_end": period_end,
        "coverage_date": coverage_date,
        "framework_ref": framework_ref,
        "models": list(models),
        "content": dict(content),
        "content_sha256": content_sha256,
        "created_by": created_by,
    }
    return create_record(tx, RiskReportRow, RiskReport, "risk-report", period, values)


def reports(session: Session) -> list[RiskReport]:
    return list_records(session, RiskReportRow, RiskReport)


def report(session: Session, report_id: int) -> RiskReport:
    found = first_record(session, RiskReportRow, RiskReport, id=report_id)
    if found is None:
        ids = [str(r.id) for r in reports(session)]
        raise NotFoundError(
            f"no Risk Report #{report_id}",
            hint=(f"known reports: {', '.join(ids)}" if ids else "no report is drafted yet")
            + "; draft one with 'scaleguard report new --period ...'",
        )
    return found


def latest_report(session: Session) -> RiskReport:
    found = first_record(session, RiskReportRow, RiskReport, order_by=RiskReportRow.id.desc())
    if found is None:
        raise NotFoundError(
            "no Risk Report is drafted yet",
            hint="draft one with 'scaleguard report new --period 2026-Q3 --models ...'",
        )
    return found


def add_redaction(
    tx: Tx,
    *,
    report_id: int,
    section: str,
    span: str | None,
    category: str,
    justification: str,
    created_by: str,
) -> RedactionRecord:
    values = {
        "report_id": report_id,
        "section": section,
        "span": span,
        "category": category,
        "justification": justification,
        "created_by": created_by,
    }
    subject = f"report-{report_id}"
    return create_record(
        tx, ReportRedactionRow, RedactionRecord, "report-redaction", subject, values
    )


def redactions(session: Session, report_id: int) -> list[RedactionRecord]:
    return list_records(session, ReportRedactionRow, RedactionRecord, report_id=report_id)


def add_submission(
    tx: Tx, *, report_id: int, submitted_on: date, submitted_to: str, created_by: str
) -> Submission:
    values = {
        "report_id": report_id,
        "submitted_on": submitted_on,
        "submitted_to": submitted_to,
        "created_by": created_by,
    }
    subject = f"report-{report_id}"
    return create_record(tx, ReportSubmissionRow, Submission, "report-submission", subject, values)


def submissions(session: Session, report_id: int) -> list[Submission]:
    return list_records(session, ReportSubmissionRow, Submission, report_id=report_id)


def add_publication(
    tx: Tx,
    *,
    report_id: int,
    edition: str,
    format: str,
    sha256: str,
    size: int,
    edition_sha256: str,
    redaction_ids: Sequence[int],
    path: str | None,
    created_by: str,
) -> Publication:
    values = {
        "report_id": report_id,
        "edition": edition,
        "format": format,
        "sha256": sha256,
        "size": size,
        "edition_sha256": edition_sha256,
        "redaction_ids": list(redaction_ids),
        "path": path,
        "created_by": created_by,
    }
    subject = f"report-{report_id}"
    return create_record(
        tx, ReportPublicationRow, Publication, "report-publication", subject, values
    )


def publications(session: Session, report_id: int | None = None) -> list[Publication]:
    return list_records(session, ReportPublicationRow, Publication, report_id=report_id)


def add_reviewer_edition(
    tx: Tx,
    *,
    report_id: int,
    format: str,
    commitment: str,
    size: int,
    edition_commitment: str,
    redaction_ids: Sequence[int],
    path: str | None,
    created_by: str,
) -> ReviewerEdition:
    values = {
        "report_id": report_id,
        "format": format,
        "commitment": commitment,
        "size": size,
        "edition_commitment": edition_commitment,
        "redaction_ids": list(redaction_ids),
        "path": path,
        "created_by": created_by,
    }
    subject = f"report-{report_id}"
    return create_record(
        tx, ReportReviewerEditionRow, ReviewerEdition, "report-reviewer-edition", subject, values
    )


def reviewer_editions(session: Session, report_id: int | None = None) -> list[ReviewerEdition]:
    return list_records(session, ReportReviewerEditionRow, ReviewerEdition, report_id=report_id)
