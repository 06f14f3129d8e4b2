"""Tables of Risk Reports and their external review.

Record tables like those in :mod:`scaleguard.store.tables`: ids assigned
under the write lock, one ledger entry per row, never updated or deleted.
A report's content is frozen when it is drafted; redactions, submissions and
publications are later rows that point at it, so every edition ever shown
can be rebuilt byte for byte from the rows that existed when it was made.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scaleguard.store.tables import Base, BigId, Time, _ledger_fk

#: Record tables added by 0004_reports_review; append-only as well.
REPORT_TABLES = (
    "risk_reports",
    "report_redactions",
    "report_submissions",
    "report_publications",
    "reviewers",
    "reviewer_interests",
    "review_assignments",
    "review_accesses",
    "review_comments",
    "review_statements",
    "review_responses",
)

#: Ledger entry kind -> (table, time column), for ledger verification.
REPORT_RECORD_KINDS: dict[str, tuple[str, str]] = {
    "risk-report": ("risk_reports", "created_at"),
    "report-redaction": ("report_redactions", "created_at"),
    "report-submission": ("report_submissions", "created_at"),
    "report-publication": ("report_publications", "created_at"),
    "reviewer": ("reviewers", "created_at"),
    "reviewer-interest": ("reviewer_interests", "created_at"),
    "review-assignment": ("review_assignments", "created_at"),
    "review-access": ("review_accesses", "created_at"),
    "review-comment": ("review_comments", "created_at"),
    "review-statement": ("review_statements", "created_at"),
    "review-response": ("review_responses", "created_at"),
    "report-reviewer-edition": ("report_reviewer_editions", "created_at"),
}


def _report_fk() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("risk_reports.id"), index=True)


def _reviewer_fk() -> Mapped[str]:
    return mapped_column(ForeignKey("reviewers.name"))


class RiskReportRow(Base):
    """A drafted Risk Report: its scope and its assembled content, frozen at drafting."""

    __tablename__ = "risk_reports"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    period: Mapped[str]
    period_start: Mapped[date]
    period_end: Mapped[date]
    coverage_date: Mapped[date]
    framework_ref: Mapped[str]
    models: Mapped[Any]
    content: Mapped[Any]
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReportRedactionRow(Base):
    """A section, or a span of text in it, withheld from the public edition, and why."""

    __tablename__ = "report_redactions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = _report_fk()
    section: Mapped[str]
    span: Mapped[str | None]
    category: Mapped[str] = mapped_column(String(16))
    justification: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReportSubmissionRow(Base):
    """The report went to its approvers (e.g. the Board and LTBT): starts the review clock."""

    __tablename__ = "report_submissions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = _report_fk()
    submitted_on: Mapped[date]
    submitted_to: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReportPublicationRow(Base):
    """One rendered edition (public or reviewer) in one format, by the hash of its bytes."""

    __tablename__ = "report_publications"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = _report_fk()
    edition: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    edition_sha256: Mapped[str] = mapped_column(String(64))
    redaction_ids: Mapped[Any]
    path: Mapped[str | None]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReportReviewerEditionRow(Base):
    """A written reviewer edition, by salted commitments only (0007_reviewer_editions)."""

    __tablename__ = "report_reviewer_editions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = _report_fk()
    format: Mapped[str] = mapped_column(String(16))
    commitment: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    edition_commitment: Mapped[str] = mapped_column(String(64))
    redaction_ids: Mapped[Any]
    path: Mapped[str | None]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReviewerRow(Base):
    """An external reviewer: who, from which organisation, with which expertise."""

    __tablename__ = "reviewers"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(unique=True)
    organisation: Mapped[str]
    expertise: Mapped[Any]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReviewerInterestRow(Base):
    """An interest a reviewer declared: employment, equity, contract, funding or a tie."""

    __tablename__ = "reviewer_interests"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    reviewer: Mapped[str] = mapped_column(ForeignKey("reviewers.name"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    counterparty: Mapped[str]
    holder: Mapped[str] = mapped_column(String(16))
    relation: Mapped[str | None] = mapped_column(String(16))
    from_date: Mapped[date]
    to_date: Mapped[date | None]
    note: Mapped[str | None]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReviewAssignmentRow(Base):
    """A reviewer assigned to a report (or some of its sections), with the screening passed."""

    __tablename__ = "review_assignments"
    __table_args__ = (UniqueConstraint("report_id", "reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = _report_fk()
    reviewer: Mapped[str] = _reviewer_fk()
    sections: Mapped[Any]
    screening: Mapped[Any]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReviewAccessRow(Base):
    """A reviewer was given the reviewer edition: which one, by its hash."""

    __tablename__ = "review_accesses"
    __table_args__ = (Index(None, "report_id", "reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("risk_reports.id"))
    reviewer: Mapped[str] = _reviewer_fk()
    edition_sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str | None] = mapped_column(String(16))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReviewCommentRow(Base):
    """A reviewer's comment, anchored to one section of the report."""

    __tablename__ = "review_comments"
    __table_args__ = (Index(None, "report_id", "reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("risk_reports.id"))
    reviewer: Mapped[str] = _reviewer_fk()
    section: Mapped[str]
    text: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReviewStatementRow(Base):
    """A reviewer's final statement on a report: one per reviewer and report."""

    __tablename__ = "review_statements"
    __table_args__ = (UniqueConstraint("report_id", "reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = _report_fk()
    reviewer: Mapped[str] = _reviewer_fk()
    verdict: Mapped[str] = mapped_column(String(16))
    text: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ReviewResponseRow(Base):
    """The developer's response to a final statement: one per statement."""

    __tablename__ = "review_responses"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    report_id: Mapped[int] = _report_fk()
    reviewer: Mapped[str] = _reviewer_fk()
    statement_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("review_statements.id"), unique=True
    )
    text: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()
