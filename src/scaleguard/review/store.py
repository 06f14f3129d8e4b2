"""Review records: the frozen values and the only queries on the review tables.

Every write goes through :func:`scaleguard.store.recording.create_record`, so each
record and its ledger entry are written together under the write lock.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from scaleguard.errors import NotFoundError
from scaleguard.store import Tx
from scaleguard.store.recording import create_record, first_record, list_records
from scaleguard.store.tables_reports import (
    ReviewAccessRow,
    ReviewAssignmentRow,
    ReviewCommentRow,
    ReviewerInterestRow,
    ReviewerRow,
    ReviewResponseRow,
    ReviewStatementRow,
)


@dataclass(frozen=True)
class Reviewer:
    id: int
    name: str
    organisation: str
    expertise: tuple[str, ...]
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class InterestRecord:
    id: int
    reviewer: str
    kind: str
    counterparty: str
    holder: str
    relation: str | None
    from_date: date
    to_date: date | None
    note: str | None
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class Assignment:
    id: int
    report_id: int
    reviewer: str
    sections: tuple[str, ...]
    screening: Mapping[str, Any]
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class Access:
    id: int
    report_id: int
    reviewer: str
    edition_sha256: str
    format: str | None
    file_sha256: str | None
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class Comment:
    id: int
    report_id: int
    reviewer: str
    section: str
    text: str
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class Statement:
    id: int
    report_id: int
    reviewer: str
    verdict: str
    text: str
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class Response:
    id: int
    report_id: int
    reviewer: str
    statement_id: int
    text: str
    created_at: str
    created_by: str
    ledger_index: int


# -- reviewers and interests ------------------------------------------------------


def add_reviewer(
    tx: Tx, *, name: str, organisation: str, expertise: Sequence[str], created_by: str
) -> Reviewer:
    values = {
        "name": name,
        "organisation": organisation,
        "expertise": list(expertise),
        "created_by": created_by,
    }
    return create_record(tx, ReviewerRow, Reviewer, "reviewer", name, values)


def reviewers(session: Session) -> list[Reviewer]:
    return list_records(session, ReviewerRow, Reviewer)


def find_reviewer(session: Session, name: str) -> Reviewer | None:
    return first_record(session, ReviewerRow, Reviewer, name=name)


def reviewer(session: Session, name: str) -> Reviewer:
    found = find_reviewer(session, name)
    if found is None:
        names = [r.name for r in reviewers(session)]
        close = difflib.get_close_matches(name, names, n=1)
        raise NotFoundError(
            f"no reviewer called {name!r}",
            hint=(f"did you mean {close[0]!r}? " if close else "")
            + "add one with 'scaleguard reviewers add NAME --organisation ... --expertise ...'",
        )
    return found


def add_interest(
    tx: Tx,
    *,
    reviewer: str,
    kind: str,
    counterparty: str,
    holder: str,
    relation: str | None,
    from_date: date,
    to_date: date | None,
    note: str | None,
    created_by: str,
) -> InterestRecord:
    values = {
        "reviewer": reviewer,
        "kind": kind,
        "counterparty": counterparty,
        "holder": holder,
        "relation": relation,
        "from_date": from_date,
        "to_date": to_date,
        "note": note,
        "created_by": created_by,
    }
    return create_record(
        tx, ReviewerInterestRow, InterestRecord, "reviewer-interest", reviewer, values
    )


def interests(session: Session, reviewer: str | None = None) -> list[InterestRecord]:
    return list_records(session, ReviewerInterestRow, InterestRecord, reviewer=reviewer)


# -- the review of one report -----------------------------------------------------


def add_assignment(
    tx: Tx,
    *,
    report_id: int,
    reviewer: str,
    sections: Sequence[str],
    screening: Mapping[str, Any],
    created_by: str,
) -> Assignment:
    values = {
        "report_id": report_id,
        "reviewer": reviewer,
        "sections": list(sections),
        "screening": dict(screening),
        "created_by": created_by,
    }
    subject = f"report-{report_id}"
    return create_record(tx, ReviewAssignmentRow, Assignment, "review-assignment", subject, values)


def assignments(
    session: Session, report_id: int | None = None, reviewer: str | None = None
) -> list[Assignment]:
    return list_records(
        session, ReviewAssignmentRow, Assignment, report_id=report_id, reviewer=reviewer
    )


def add_access(
    tx: Tx,
    *,
    report_id: int,
    reviewer: str,
    edition_sha256: str,
    format: str | None,
    file_sha256: str | None,
    created_by: str,
) -> Access:
    values = {
        "report_id": report_id,
        "reviewer": reviewer,
        "edition_sha256": edition_sha256,
        "format": format,
        "file_sha256": file_sha256,
        "created_by": created_by,
    }
    subject = f"report-{report_id}"
    return create_record(tx, ReviewAccessRow, Access, "review-access", subject, values)


def accesses(
    session: Session, report_id: int | None = None, reviewer: str | None = None
) -> list[Access]:
    return list_records(session, ReviewAccessRow, Access, report_id=report_id, reviewer=reviewer)


def add_comment(
    tx: Tx, *, report_id: int, reviewer: str, section: str, text: str, created_by: str
) -> Comment:
    values = {
        "report_id": report_id,
        "reviewer": reviewer,
        "section": section,
        "text": text,
        "created_by": created_by,
    }
    subject = f"report-{report_id}"
    return create_record(tx, ReviewCommentRow, Comment, "review-comment", subject, values)


def comments(
    session: Session, report_id: int | None = None, reviewer: str | None = None
) -> list[Comment]:
    return list_records(session, ReviewCommentRow, Comment, report_id=report_id, reviewer=reviewer)


def add_statement(
    tx: Tx, *, report_id: int, reviewer: str, verdict: str, text: str, created_by: str
) -> Statement:
    values = {
        "report_id": report_id,
        "reviewer": reviewer,
        "verdict": verdict,
        "text": text,
        "created_by": created_by,
    }
    subject = f"report-{report_id}"
    return create_record(tx, ReviewStatementRow, Statement, "review-statement", subject, values)


def statements(
    session: Session, report_id: int | None = None, reviewer: str | None = None
) -> list[Statement]:
    return list_records(
        session, ReviewStatementRow, Statement, report_id=report_id, reviewer=reviewer
    )


def add_response(
    tx: Tx, *, report_id: int, reviewer: str, statement_id: int, text: str, created_by: str
) -> Response:
    values = {
        "report_id": report_id,
        "reviewer": reviewer,
        "statement_id": statement_id,
        "text": text,
        "created_by": created_by,
    }
    subject = f"report-{report_id}"
    return create_record(tx, ReviewResponseRow, Response, "review-response", subject, values)


def responses(
    session: Session, report_id: int | None = None, reviewer: str | None = None
) -> list[Response]:
    return list_records(
        session, ReviewResponseRow, Response, report_id=report_id, reviewer=reviewer
    )
