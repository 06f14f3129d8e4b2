"""External review against a workspace: reviewers, screening, assignment, the review.

Each function checks everything before it writes and writes one transaction,
so a refused request (a conflicted reviewer, a second statement, an unknown
section) leaves nothing behind. Checks that depend on recorded state run
under the write lock, so two concurrent requests cannot both pass them, and
only on rows first proven against the signed ledger in that transaction
(:mod:`scaleguard.reports.rowcheck`): an edited, forged or deleted interest,
assignment, statement or response is refused, not relied on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from scaleguard.decisions.service import default_actor
from scaleguard.errors import ConflictError, InputError, NotFoundError
from scaleguard.framework.model import ExternalReview
from scaleguard.reports import service as reports
from scaleguard.reports import store as report_store
from scaleguard.reports.model import EXTENSIONS, Section
from scaleguard.reports.private import (
    check_private_target,
    commitment,
    report_salt,
    reviewer_dir,
    write_private,
)
from scaleguard.reports.redact import find_section
from scaleguard.reports.rowcheck import (
    REVIEW_KINDS,
    checked_report,
    registry_scope,
    report_scopes,
    scope,
    which,
)
from scaleguard.reports.store import RiskReport, record_date
from scaleguard.review import store
from scaleguard.review.conflicts import load_rules, screen
from scaleguard.review.deadlines import (
    Deadline,
    commentary_deadline,
    review_window_end,
    share_deadline,
)
from scaleguard.review.model import (
    VERDICTS,
    Interest,
    InterestSpec,
    ReviewerSpec,
    Screening,
)
from scaleguard.review.store import (
    Access,
    Assignment,
    Comment,
    InterestRecord,
    Response,
    Reviewer,
    Statement,
)
from scaleguard.store import repo
from scaleguard.textcheck import free_text
from scaleguard.workspace.rowcheck import check_rows
from scaleguard.workspace.workspace import Workspace

# -- reviewers ------------------------------------------------------------------------


def add_reviewer(ws: Workspace, spec: ReviewerSpec, *, by: str | None = None) -> Reviewer:
    actor = default_actor(by)
    with ws.store.write() as tx:
        check_rows(tx, ws, [scope("reviewer", spec.name)], f"register reviewer {spec.name!r}")
        if store.find_reviewer(tx, spec.name) is not None:
            raise ConflictError(
                f"a reviewer called {spec.name!r} is already registered",
                hint="declare their interests with 'scaleguard reviewers declare-interest'",
            )
        return store.add_reviewer(
            tx,
            name=spec.name,
            organisation=spec.organisation,
            expertise=spec.expertise,
            created_by=actor,
        )


def declare_interest(ws: Workspace, spec: InterestSpec, *, by: str | None = None) -> InterestRecord:
    actor = default_actor(by)
    with ws.store.write() as tx:
        refusing = f"record an interest of {spec.reviewer!r}"
        check_rows(tx, ws, [scope("reviewer", spec.reviewer)], refusing)
        store.reviewer(tx, spec.reviewer)
        return store.add_interest(
            tx,
            reviewer=spec.reviewer,
            kind=spec.kind,
            counterparty=spec.counterparty,
            holder=spec.holder,
            relation=spec.relation,
            from_date=spec.from_date,
            to_date=spec.to_date,
            note=spec.note,
            created_by=actor,
        )


def _interests(session: Session, name: str) -> list[Interest]:
    return [
        Interest(
            kind=i.kind,
            counterparty=i.counterparty,
            holder=i.holder,
            relation=i.relation,
            from_date=i.from_date,
            to_date=i.to_date,
            note=i.note,
            record_id=i.id,
        )
        for i in store.interests(session, name)
    ]


def _parties(
    ws: Workspace, session: Session, report: RiskReport | None
) -> tuple[list[str], list[str]]:
    """(the developer's names, other developers' names) from the registry."""
    models = repo.models(session)
    covered = set(report.models) if report else {m.name for m in models if m.own}
    developer = sorted({m.developer for m in models if m.name in covered and m.developer})
    if not developer:
        ref = report.framework_ref if report else ws.config.frameworks.default
        if ref:
            developer = [ws.library().get(ref).doc.framework.developer]
    others = sorted({m.developer for m in models if not m.own and m.developer})
    return developer, others


def _external_review(ws: Workspace, ref: str | None) -> ExternalReview | None:
    if ref is None:
        return None
    from scaleguard.workspace.pinned import applied_framework

    return applied_framework(ws, ref).doc.external_review


def _screen(
    ws: Workspace,
    session: Session,
    name: str,
    report: RiskReport | None,
    as_of: date,
    refusing: str,
) -> Screening:
    """Screen ``name`` on their row, declared interests and the model registry, every one
    proven against the ledger first (a deleted interest would let a conflict pass)."""
    scopes = [scope("reviewer", name), scope("reviewer-interest", name), registry_scope()]
    check_rows(session, ws, scopes, refusing)
    store.reviewer(session, name)
    ref = report.framework_ref if report else ws.config.frameworks.default
    developer, others = _parties(ws, session, report)
    return screen(
        name,
        _interests(session, name),
        load_rules(ws.root),
        as_of=as_of,
        window_end=review_window_end(_external_review(ws, ref), as_of),
        developer=developer,
        other_developers=others,
    )


def screen_reviewer(
    ws: Workspace, name: str, *, report_id: int | None = None, as_of: date | None = None
) -> Screening:
    """Every conflict rule's result for the reviewer (as of today by default)."""
    refusing = f"screen reviewer {name!r}"
    with ws.store.read() as s:
        report = None
        if report_id is not None:
            report = checked_report(s, ws, report_id, refusing)
        return _screen(ws, s, name, report, as_of or reports.today(), refusing)


# -- assignment and access ------------------------------------------------------------


def _sections(report: RiskReport, sections: list[str]) -> list[str]:
    content = reports.content_of(report)
    for sid in sections:
        find_section(content, sid)
    return list(dict.fromkeys(sections))


def assign(
    ws: Workspace,
    report_id: int,
    reviewer: str,
    *,
    sections: list[str] | None = None,
    by: str | None = None,
) -> tuple[Assignment, Access, Screening]:
    """Assign a reviewer who passes screening, and record their access to the reviewer edition.

    A major conflict refuses the assignment (ConflictError with the reason);
    minor conflicts are kept in the recorded screening.
    """
    actor = default_actor(by)
    built = reports.build(ws, report_id, "reviewer")
    chosen = _sections(built.report, sections or [])
    with ws.store.write() as tx:
        refusing = f"assign {reviewer!r} to report #{report_id}"
        report = _checked(tx, ws, report_id, reviewer, refusing, "review-assignment")
        reports.unchanged(tx, ws, built, refusing)
        result = _screen(ws, tx, reviewer, report, reports.today(), refusing)
        if result.blocked:
            raise ConflictError(
                f"{reviewer} cannot review report #{report_id}: major conflict of interest — "
                + result.reason(),
                hint=f'choose another reviewer; run scaleguard reviewers screen "{reviewer}" '
                "for every rule's result",
            )
        if store.assignments(tx, report_id, reviewer):
            raise ConflictError(
                f"{reviewer} is already assigned to report #{report_id}",
                hint="see 'scaleguard review status'",
            )
        assignment = store.add_assignment(
            tx,
            report_id=report_id,
            reviewer=reviewer,
            sections=chosen,
            screening=result.model_dump(mode="json"),
            created_by=actor,
        )
        access = store.add_access(
            tx,
            report_id=report_id,
            reviewer=reviewer,
            edition_sha256=commitment(report_salt(ws, report_id), built.sha256.encode()),
            format=None,
            file_sha256=None,
            created_by=actor,
        )
    return assignment, access, result


def _checked(
    session: Session, ws: Workspace, report_id: int, reviewer: str, refusing: str, *kinds: str
) -> RiskReport:
    """Report ``report_id`` after its row, the reviewer's row and the report's rows of
    ``kinds`` were proven against the ledger (LedgerIntegrityError "refusing to ...")."""
    scopes = [*report_scopes(report_id, kinds), scope("reviewer", reviewer)]
    check_rows(session, ws, scopes, refusing)
    return report_store.report(session, report_id)


def _assignment(session: Session, report_id: int, reviewer: str) -> Assignment:
    """The reviewer's assignment to the report, read from rows :func:`_checked` proved."""
    store.reviewer(session, reviewer)
    found = store.assignments(session, report_id, reviewer)
    if not found:
        raise NotFoundError(
            f"{reviewer} is not assigned to report #{report_id}",
            hint=f'assign them first: scaleguard review assign {report_id} "{reviewer}"',
        )
    return found[0]


def reviewer_slug(reviewer: str) -> str:
    """A file-name part unique to the reviewer: readable letters plus a hash of the name.

    Two names that read alike ("Dr. Ada Lee" and "dr-ada-lee") never share a file.
    """
    slug = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in reviewer.lower())
    slug = "-".join(part for part in slug.split("-") if part)[:40] or "reviewer"
    return f"{slug}-{hashlib.sha256(reviewer.encode()).hexdigest()[:8]}"


def record_access(
    ws: Workspace,
    report_id: int,
    reviewer: str,
    *,
    fmt: str | None = None,
    output: Path | None = None,
    by: str | None = None,
) -> tuple[Access, Path | None]:
    """Give the reviewer the current reviewer edition (optionally as a file) and record it."""
    actor = default_actor(by)
    built = reports.build(ws, report_id, "reviewer")
    data: bytes | None = None
    path: Path | None = None
    if fmt is not None:
        chosen = reports.parse_format(fmt)
        data = reports.render(built, chosen)
        name = f"{built.report.period}-report-{report_id}-reviewer-{reviewer_slug(reviewer)}"
        path = (output or reviewer_dir(ws) / f"{name}.{EXTENSIONS[chosen]}").expanduser()
        check_private_target(ws, path)
    existed = path.exists() if path else False
    try:
        with ws.store.write() as tx:
            refusing = f"record an access of {reviewer!r} to report #{report_id}"
            _checked(tx, ws, report_id, reviewer, refusing, "review-assignment")
            _assignment(tx, report_id, reviewer)
            reports.unchanged(tx, ws, built, refusing)
            salt = report_salt(ws, report_id)
            if path is not None and data is not None:
                write_private(path, data)
            access = store.add_access(
                tx,
                report_id=report_id,
                reviewer=reviewer,
                edition_sha256=commitment(salt, built.sha256.encode()),
                format=fmt,
                file_sha256=commitment(salt, data) if data is not None else None,
                created_by=actor,
            )
    except BaseException:
        if path is not None and not existed:
            path.unlink(missing_ok=True)
        raise
    return access, path


# -- the review -----------------------------------------------------------------------


def _text(text: str, what: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InputError(f"the {what} is empty", hint='give it with --text "..."')
    if len(cleaned) > 100_000:
        raise InputError(f"the {what} is over 100,000 characters")
    try:
        return free_text(cleaned)
    except ValueError as exc:
        raise InputError(f"the {what} {exc}") from None


def comment(
    ws: Workspace, report_id: int, reviewer: str, section: str, text: str, *, by: str | None = None
) -> Comment:
    """A reviewer's comment anchored to one section they review."""
    body = _text(text, "comment")
    actor = default_actor(by or reviewer)
    with ws.store.write() as tx:
        refusing = f"record a comment of {reviewer!r} on report #{report_id}"
        kinds = ("review-assignment", "review-statement")
        report = _checked(tx, ws, report_id, reviewer, refusing, *kinds)
        assignment = _assignment(tx, report_id, reviewer)
        find_section(reports.content_of(report), section)
        if assignment.sections and not any(
            section == s or section.startswith(s + ".") for s in assignment.sections
        ):
            raise InputError(
                f"{reviewer} reviews only {', '.join(assignment.sections)} of report "
                f"#{report_id}, not {section!r}",
                hint="comment on a section within the assignment",
            )
        if store.statements(tx, report_id, reviewer):
            raise ConflictError(
                f"{reviewer} has already submitted a final statement on report #{report_id}",
                hint="comments come before the final statement",
            )
        return store.add_comment(
            tx, report_id=report_id, reviewer=reviewer, section=section, text=body, created_by=actor
        )


def submit_statement(
    ws: Workspace,
    report_id: int,
    reviewer: str,
    verdict: str,
    text: str,
    *,
    by: str | None = None,
) -> Statement:
    """The reviewer's final statement: agree, partly or disagree, with text; only once."""
    if verdict not in VERDICTS:
        raise InputError(f"unknown verdict {verdict!r}", hint="use agree, partly or disagree")
    body = _text(text, "statement")
    actor = default_actor(by or reviewer)
    with ws.store.write() as tx:
        refusing = f"record the final statement of {reviewer!r} on report #{report_id}"
        _checked(tx, ws, report_id, reviewer, refusing, "review-assignment", "review-statement")
        _assignment(tx, report_id, reviewer)
        earlier = store.statements(tx, report_id, reviewer)
        if earlier:
            raise ConflictError(
                f"{reviewer} already submitted a final statement on report #{report_id} "
                f"(statement #{earlier[0].id}, {earlier[0].verdict})",
                hint="a final statement is submitted once; nothing was recorded",
            )
        return store.add_statement(
            tx, report_id=report_id, reviewer=reviewer, verdict=verdict, text=body, created_by=actor
        )


def respond(
    ws: Workspace, report_id: int, reviewer: str, text: str, *, by: str | None = None
) -> Response:
    """The developer's response to a reviewer's final statement; one per statement."""
    body = _text(text, "response")
    actor = default_actor(by)
    with ws.store.write() as tx:
        refusing = f"record a response to {reviewer!r} on report #{report_id}"
        kinds = ("review-assignment", "review-statement", "review-response")
        _checked(tx, ws, report_id, reviewer, refusing, *kinds)
        _assignment(tx, report_id, reviewer)
        found = store.statements(tx, report_id, reviewer)
        if not found:
            raise ConflictError(
                f"{reviewer} has not submitted a final statement on report #{report_id}",
                hint="the developer responds to a submitted statement",
            )
        if store.responses(tx, report_id, reviewer):
            raise ConflictError(
                f"the developer already responded to {reviewer}'s statement on report #{report_id}",
                hint="a response is recorded once; nothing was recorded",
            )
        return store.add_response(
            tx,
            report_id=report_id,
            reviewer=reviewer,
            statement_id=found[0].id,
            text=body,
            created_by=actor,
        )


# -- status ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerProgress:
    assignment: Assignment
    accesses: list[Access]
    comments: list[Comment]
    statement: Statement | None
    response: Response | None
    deadlines: list[Deadline]


@dataclass(frozen=True)
class ReviewStatus:
    report: RiskReport
    as_of: date
    submitted_on: date | None
    submitted_to: str | None
    share_within: str | None
    commentary_within: str | None
    reviewers: list[ReviewerProgress]
    unreviewed_sections: list[str] = field(default_factory=list)

    @property
    def overdue(self) -> list[Deadline]:
        return [d for r in self.reviewers for d in r.deadlines if d.overdue]


def _uncovered(sections: tuple[Section, ...], assigned: set[str]) -> list[str]:
    """The largest sections no reviewer covers (a reviewer of a section covers its subsections)."""
    out: list[str] = []
    for sec in sections:
        if sec.id in assigned:
            continue
        if any(a.startswith(sec.id + ".") for a in assigned):
            out.extend(_uncovered(sec.sections, assigned))
        else:
            out.append(sec.id)
    return out


def status(
    ws: Workspace, report_id: int | None = None, *, as_of: date | None = None
) -> ReviewStatus:
    """Deadlines and progress of the review of a report (default: the latest)."""
    day = as_of or reports.today()
    refusing = f"show the review of {which(report_id)}"
    with ws.store.read() as s:
        kinds = ("report-submission", *REVIEW_KINDS)
        report = checked_report(s, ws, report_id, refusing, kinds)
        submissions = report_store.submissions(s, report.id)
        review = _external_review(ws, report.framework_ref)
        submitted = submissions[0].submitted_on if submissions else None
        progress = []
        for a in store.assignments(s, report.id):
            seen = store.accesses(s, report.id, a.reviewer)
            statement = next(iter(store.statements(s, report.id, a.reviewer)), None)
            response = next(iter(store.responses(s, report.id, a.reviewer)), None)
            first = record_date(seen[0].created_at) if seen else None
            deadlines = [
                share_deadline(
                    review, a.reviewer, submitted_on=submitted, first_access=first, as_of=day
                ),
                commentary_deadline(
                    review,
                    a.reviewer,
                    received_on=first,
                    statement_on=record_date(statement.created_at) if statement else None,
                    as_of=day,
                ),
            ]
            progress.append(
                ReviewerProgress(
                    a,
                    seen,
                    store.comments(s, report.id, a.reviewer),
                    statement,
                    response,
                    deadlines,
                )
            )
    unreviewed: list[str] = []
    if progress and all(p.assignment.sections for p in progress):
        assigned = {sid for p in progress for sid in p.assignment.sections}
        unreviewed = _uncovered(reports.content_of(report).sections, assigned)
    return ReviewStatus(
        report=report,
        as_of=day,
        submitted_on=submitted,
        submitted_to=submissions[0].submitted_to if submissions else None,
        share_within=str(review.share_within) if review and review.share_within else None,
        commentary_within=(
            str(review.commentary_within) if review and review.commentary_within else None
        ),
        reviewers=progress,
        unreviewed_sections=unreviewed,
    )
