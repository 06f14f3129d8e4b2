"""A database administrator without the key edits report and review rows; nothing relies on them.

What a Risk Report's public edition withholds, whether it may still be
redacted, whether a reviewer is conflicted, whether a reviewer may comment or
submit, and what the public site shows as the reviewers' verdicts all come
from rows of the report and review tables. The administrator drops (SQLite)
or disables (PostgreSQL) the append-only triggers, edits or deletes such rows
and puts the triggers back; the ledger entries are untouched. An edited row no
longer matches what the key signed, and a deleted one leaves fewer rows than
the signer counted: every action that reads them refuses (LedgerIntegrityError,
CLI exit 1, HTTP 500) and writes nothing. Each edit is followed by a fresh
process's view (nothing remembered), as a new command would have.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import dba_sql
from conftest import build_lab
from scaleguard.errors import ConflictError, LedgerIntegrityError
from scaleguard.reports import service as reports
from scaleguard.review import listings
from scaleguard.review import service as review
from scaleguard.review.model import InterestSpec, ReviewerSpec
from scaleguard.store import repo
from scaleguard.store.ledger import rows
from scaleguard.store.tables_reports import REPORT_RECORD_KINDS
from scaleguard.web import accounts
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from workspace_copies import Copy

LAB = "Fictional Frontier Lab"
TABLES = sorted({table for table, _ in REPORT_RECORD_KINDS.values()})
CRITICAL = "The automated research evaluations could not detect the capability they rule out."


def _interest(name: str, kind: str, start: str, end: str | None = None) -> InterestSpec:
    return InterestSpec.model_validate(
        {
            "reviewer": name,
            "kind": kind,
            "counterparty": LAB,
            "from_date": date.fromisoformat(start),
            "to_date": date.fromisoformat(end) if end else None,
        }
    )


def _build(folder: Path, pg_url: str | None) -> None:
    """The demo's lab with report 1 (a section redacted, submitted, Mara assigned, her
    comment and critical final statement) and report 2 (drafted only); reviewers Mara
    (a minor conflict) and Jonas (equity in the developer: a major one)."""
    build_lab(folder, pg_url)
    ws = open_workspace(folder / "lab")
    try:
        for _ in range(2):
            reports.draft(ws, period="2026-Q4", models=["aurora-3"], by="rso")
        reports.redact(
            ws, 1, "capabilities.novel-cb", category="security", justification="Uplift.", by="rso"
        )
        reports.submit(ws, 1, by="rso")
        for name, organisation, spec in (
            ("Mara", "Institute", _interest("Mara", "employment", "2019-01-01", "2025-06-30")),
            ("Jonas", "Ventures", _interest("Jonas", "equity", "2024-05-01")),
        ):
            reviewer = ReviewerSpec(name=name, organisation=organisation, expertise=("evals",))
            review.add_reviewer(ws, reviewer, by="rso")
            review.declare_interest(ws, spec, by="rso")
        review.assign(ws, 1, "Mara", by="rso")
        review.comment(ws, 1, "Mara", "capabilities.automated-rd", "Elicitation effort?")
        review.submit_statement(ws, 1, "Mara", "disagree", CRITICAL)
    finally:
        ws.close()


@pytest.fixture
def ws(tmp_path: Path, workspace_copy: Copy) -> Iterator[Workspace]:
    workspace_copy("reports tamper", _build)
    workspace = open_workspace(tmp_path / "lab")
    try:
        yield workspace
    finally:
        workspace.close()


def as_dba(ws: Workspace, *statements: str) -> None:
    """SQL around the report tables' append-only triggers (:func:`dba_sql.as_dba`)."""
    dba_sql.as_dba(ws, TABLES, *statements)


def written(ws: Workspace) -> tuple[Any, ...]:
    """The ledger's size, the row count of every report and review table, and the files
    of the reports/ and reviewer-editions/ folders."""
    with ws.store.read() as s:
        counts = [int(s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES]
        size = repo.ledger_size(s)
    files = sorted(
        str(p.relative_to(ws.root))
        for folder in ("reports", "reviewer-editions")
        for p in (ws.root / folder).glob("*")
    )
    return (size, *counts, *files)


def refused(ws: Workspace, action: Any, *args: Any, **kwargs: Any) -> str:
    """Run ``action``; it must raise LedgerIntegrityError (an HTTP 500) and write nothing.
    Its message."""
    before = written(ws)
    with pytest.raises(LedgerIntegrityError) as caught:
        action(ws, *args, **kwargs)
    assert written(ws) == before
    assert caught.value.message.startswith("refusing to "), caught.value.message
    assert caught.value.status == 500
    assert "ledger verify --full" in caught.value.hint
    return caught.value.message


def cli_refused(cli: Any, ws: Workspace, *args: str) -> dict[str, Any]:
    """``scaleguard ARGS --json`` exits 1 with the LedgerIntegrityError envelope, writing
    nothing; the error."""
    before = written(ws)
    result = cli(*args, "--workspace", ws.root, "--json")
    assert result.code == 1, result
    error: dict[str, Any] = json.loads(result.out)["error"]
    assert error["type"] == "LedgerIntegrityError" and error["exit_code"] == 1, error
    assert written(ws) == before
    return error


DELETED = "1 signed row was deleted"


def test_a_deleted_critical_statement_stops_publication(ws: Workspace, cli: Any) -> None:
    as_dba(ws, "DELETE FROM review_statements WHERE report_id = 1")
    for edition in ("public", "reviewer"):
        message = refused(ws, reports.publish, 1, edition=edition, fmt="markdown")
        assert message.startswith("refusing to publish report #1: review_statements")
        assert DELETED in message
    # nor can a softer statement take its place, nor is the review shown without it
    assert DELETED in refused(ws, review.submit_statement, 1, "Mara", "agree", "All good.")
    assert DELETED in refused(ws, review.status, 1)
    assert DELETED in refused(ws, listings.outcome, 1)
    error = cli_refused(cli, ws, "review", "show", "1")
    assert "review_statements" in error["message"] and DELETED in error["message"]
    result = cli("report", "publish", "1", "--edition", "public", "--format", "markdown",
                 "--workspace", ws.root)  # fmt: skip
    assert result.code == 1 and DELETED in result.err, result


def test_a_statement_deleted_after_publication_is_not_left_off_the_public_site(
    ws: Workspace,
) -> None:
    reports.publish(ws, 1, edition="public", fmt="html", by="rso")
    with TestClient(_app(ws), base_url="https://testserver") as client:
        assert CRITICAL in client.get("/reports/1").text
        as_dba(ws, "DELETE FROM review_statements WHERE report_id = 1")
        for url in ("/api/v1/reports/1", "/api/v1/reports/1/review", "/reports/1"):
            response = client.get(url)
            assert response.status_code == 500, (url, response.text[:300])
            assert DELETED in response.text and CRITICAL not in response.text
        error = client.get("/api/v1/reports/1/review").json()["error"]
        assert error["code"] == "ledger_integrity" and "ledger verify" in error["hint"]
        # the reviewer's own page neither opens nor records an access
        accounts.add_user(ws.store, "Mara", "reviewer", by="test")
        token, _ = accounts.create_token(ws.store, "Mara", "write", "1d")
        before = written(ws)
        auth = {"Authorization": f"Bearer {token}"}
        response = client.get("/api/v1/review/1/edition", headers=auth)
        assert response.status_code == 500 and DELETED in response.text
        assert written(ws) == before


def _app(ws: Workspace) -> Any:
    from scaleguard.web.app import create_app

    return create_app(ws.root)


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM reviewer_interests WHERE reviewer = 'Jonas'",
        "UPDATE reviewer_interests SET counterparty = 'Other Co' WHERE reviewer = 'Jonas'",
        "UPDATE reviewer_interests SET reviewer = 'Mara' WHERE reviewer = 'Jonas'",
    ],
    ids=["deleted", "edited", "moved"],
)
def test_a_removed_conflict_of_interest_does_not_clear_a_reviewer(
    ws: Workspace, cli: Any, sql: str
) -> None:
    with pytest.raises(ConflictError, match="major conflict of interest"):
        review.assign(ws, 1, "Jonas", by="rso")
    as_dba(ws, sql)
    message = refused(ws, review.assign, 1, "Jonas", by="rso")
    assert message.startswith("refusing to assign 'Jonas' to report #1: reviewer_interests")
    assert "reviewer_interests" in refused(ws, review.screen_reviewer, "Jonas", report_id=1)
    error = cli_refused(cli, ws, "review", "assign", "1", "Jonas")
    assert "reviewer_interests" in error["message"]


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        # withholds the whole capabilities section instead of one threshold's results
        ("UPDATE report_redactions SET section = 'capabilities' WHERE id = 1", "row id 1"),
        # shows the withheld results
        ("DELETE FROM report_redactions WHERE id = 1", DELETED),
    ],
    ids=["edited", "deleted"],
)
def test_an_edited_or_deleted_redaction_changes_no_edition(
    ws: Workspace, cli: Any, sql: str, found: str
) -> None:
    as_dba(ws, sql)
    for edition in ("public", "reviewer"):
        message = refused(ws, reports.build, 1, edition)
        assert message.startswith(f"refusing to build the {edition} edition of report #1")
        assert "report_redactions" in message and found in message
    assert found in refused(ws, reports.publish, 1, edition="public", fmt="markdown")
    assert found in refused(ws, reports.redact, 1, "summary", category="legal", justification="x")
    assert found in refused(ws, review.record_access, 1, "Mara", fmt="markdown")
    error = cli_refused(cli, ws, "report", "show", "1")
    assert "report_redactions" in error["message"]


def test_a_deleted_publication_does_not_reopen_the_report(ws: Workspace, cli: Any) -> None:
    reports.publish(ws, 1, edition="public", fmt="markdown", by="rso")
    as_dba(ws, "DELETE FROM report_publications WHERE report_id = 1")
    # redacting after publication would change what was already published
    message = refused(ws, reports.redact, 1, "summary", category="legal", justification="x")
    assert message.startswith("refusing to redact report #1: report_publications")
    assert DELETED in message
    assert DELETED in refused(ws, reports.cadence)
    assert DELETED in refused(ws, reports.published)
    assert DELETED in refused(ws, reports.public_editions, 1)
    assert DELETED in refused(ws, reports.publish, 1, edition="public", fmt="markdown")
    assert DELETED in cli_refused(cli, ws, "report", "status")["message"]
    assert DELETED in cli_refused(cli, ws, "report", "list")["message"]


def test_a_deleted_submission_does_not_restart_the_reviewers_clock(ws: Workspace) -> None:
    as_dba(ws, "DELETE FROM report_submissions WHERE report_id = 1")
    message = refused(ws, reports.submit, 1, by="rso")
    assert message.startswith("refusing to submit report #1: report_submissions")
    assert DELETED in refused(ws, review.status, 1)


def test_a_deleted_newest_report_does_not_make_an_older_one_the_latest(ws: Workspace) -> None:
    as_dba(ws, "DELETE FROM risk_reports WHERE id = 2")
    message = refused(ws, reports.build, None, "public")
    assert message.startswith("refusing to build the public edition of the latest report")
    assert "risk_reports" in message and DELETED in message
    assert DELETED in refused(ws, reports.submit, None, by="rso")
    assert DELETED in refused(ws, review.status)


def test_a_statement_moved_to_another_report_is_refused(ws: Workspace) -> None:
    as_dba(ws, "UPDATE review_statements SET report_id = 2 WHERE report_id = 1")
    # shown under report 2, it is not what the key signed
    assert "review_statements row id 1" in refused(ws, listings.outcome, 2)
    # gone from report 1, it was deleted there: no second statement, no review without it
    assert DELETED in refused(ws, review.submit_statement, 1, "Mara", "agree", "Fine.")
    assert DELETED in refused(ws, review.comment, 1, "Mara", "summary", "One more thing.")
    assert DELETED in refused(ws, review.status, 1)


def test_an_assignment_moved_to_another_report_is_refused(ws: Workspace) -> None:
    as_dba(ws, "UPDATE review_assignments SET report_id = 2 WHERE reviewer = 'Mara'")
    message = refused(ws, review.comment, 2, "Mara", "summary", "Unassigned comment.")
    assert "review_assignments row id 1" in message
    assert "review_assignments row id 1" in refused(ws, review.record_access, 2, "Mara")
    assert "review_assignments" in refused(ws, listings.assignments_of, "Mara")
    assert DELETED in refused(ws, review.status, 1)


def test_honest_reports_and_reviews_work_from_a_fresh_process(ws: Workspace) -> None:
    """Nothing edited: every checked read and write, from a process that proved nothing."""
    rows.forget()
    assert [r.label for r in reports.build(ws, 1, "public").redactions] == ["R1"]
    assert reports.resolve(ws, None).id == 2
    status = review.status(ws, 1)
    assert status.reviewers[0].statement is not None
    assert status.reviewers[0].statement.verdict == "disagree"
    assert [st.text for st, resp in listings.outcome(ws, 1)] == [CRITICAL]
    assert not review.screen_reviewer(ws, "Mara", report_id=1).blocked
    with pytest.raises(ConflictError, match="major conflict of interest"):
        review.assign(ws, 1, "Jonas", by="rso")
    rows.forget()
    review.assign(ws, 2, "Mara", sections=["summary"], by="rso")
    review.comment(ws, 2, "Mara", "summary", "Clear.")
    review.respond(ws, 1, "Mara", "We will add an appendix.", by="rso")
    rows.forget()
    published = reports.publish(ws, 1, edition="public", fmt="markdown", by="rso")
    assert published.created
    assert [r.id for r, _ in reports.published(ws)] == [1]
    assert [p.format for p in reports.public_editions(ws, 1)] == ["markdown"]
    assert reports.cadence(ws).last_report_id == 1
    assert [len(pubs) for _, _, pubs in reports.overview(ws)] == [1, 0]
    assert [r.name for r, _ in listings.reviewer_list(ws)] == ["Mara", "Jonas"]
    assert [a.report_id for a, _, _ in listings.assignments_of(ws, "Mara")] == [1, 2]
    assignment, comments, statement = listings.reviewer_record(ws, 2, "Mara")
    assert assignment.sections == ("summary",) and len(comments) == 1 and statement is None
