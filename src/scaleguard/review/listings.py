"""What the review shows as fact, read only after its rows were proven against the ledger.

The reviewer registry, a reviewer's assignments, what a reviewer wrote on a
report, and the final statements and responses the public site shows. Each
function reads in one snapshot and first proves, in it, every row it reads
(:mod:`scaleguard.reports.rowcheck`), so an edited, forged or deleted row is
refused (LedgerIntegrityError) rather than shown.
"""

from __future__ import annotations

from scaleguard.errors import NotFoundError
from scaleguard.reports import store as report_store
from scaleguard.reports.rowcheck import scope
from scaleguard.reports.store import RiskReport
from scaleguard.review import store
from scaleguard.review.store import (
    Assignment,
    Comment,
    InterestRecord,
    Response,
    Reviewer,
    Statement,
)
from scaleguard.workspace.rowcheck import check_rows
from scaleguard.workspace.workspace import Workspace


def reviewer_list(ws: Workspace) -> list[tuple[Reviewer, list[InterestRecord]]]:
    """Every registered reviewer with their declared interests."""
    with ws.store.read() as s:
        kinds = ("reviewer", "reviewer-interest")
        check_rows(s, ws, [scope(kind) for kind in kinds], "list the reviewers")
        return [(r, store.interests(s, r.name)) for r in store.reviewers(s)]


def assignments_of(
    ws: Workspace, reviewer: str
) -> list[tuple[Assignment, RiskReport, Statement | None]]:
    """The reviewer's assignments, each with its report and their final statement on it."""
    refusing = f"list the assignments of {reviewer!r}"
    with ws.store.read() as s:
        # assignments are counted by report: every one is read to see none is missing
        check_rows(s, ws, [scope("review-assignment")], refusing)
        found = store.assignments(s, reviewer=reviewer)
        ids = sorted({a.report_id for a in found})
        scopes = [scope(kind, rid) for rid in ids for kind in ("risk-report", "review-statement")]
        check_rows(s, ws, scopes, refusing)
        return [
            (
                a,
                report_store.report(s, a.report_id),
                next(iter(store.statements(s, a.report_id, reviewer)), None),
            )
            for a in found
        ]


def reviewer_record(
    ws: Workspace, report_id: int, reviewer: str
) -> tuple[Assignment, list[Comment], Statement | None]:
    """The reviewer's assignment to the report, their comments and final statement.

    NotFoundError when they are not assigned to it.
    """
    refusing = f"show the review of {reviewer!r} on report #{report_id}"
    with ws.store.read() as s:
        kinds = ("review-assignment", "review-comment", "review-statement")
        check_rows(s, ws, [scope(kind, report_id) for kind in kinds], refusing)
        assigned = store.assignments(s, report_id, reviewer)
        if not assigned:
            raise NotFoundError(f"{reviewer} is not assigned to report #{report_id}")
        statement = store.statements(s, report_id, reviewer)
        return assigned[0], store.comments(s, report_id, reviewer), next(iter(statement), None)


def outcome(ws: Workspace, report_id: int) -> list[tuple[Statement, Response | None]]:
    """Each final statement on the report, in order, with the developer's response."""
    refusing = f"show the review outcome of report #{report_id}"
    with ws.store.read() as s:
        kinds = ("review-statement", "review-response")
        check_rows(s, ws, [scope(kind, report_id) for kind in kinds], refusing)
        statements = store.statements(s, report_id)
        responses = {r.statement_id: r for r in store.responses(s, report_id)}
    return [(st, responses.get(st.id)) for st in statements]
