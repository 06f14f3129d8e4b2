"""Risk Reports against a workspace: draft, redact, submit, publish, cadence.

Each function validates everything it can before it writes, and writes one
transaction (records and their ledger entries together), so a refused
request leaves nothing behind. Every row a function reads is first proven
against the signed ledger, in the same session or transaction
(:mod:`scaleguard.reports.rowcheck`). The CLI and any other edge call these.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from scaleguard.decisions.service import default_actor
from scaleguard.errors import ConflictError, InputError
from scaleguard.ledger.canonical import canonical_json
from scaleguard.reports import store
from scaleguard.reports.assemble import assemble
from scaleguard.reports.cadence import CadenceStatus, cadence_status, coverage_problem
from scaleguard.reports.gather import checked_generations, gather
from scaleguard.reports.guard import check_public
from scaleguard.reports.model import (
    CATEGORIES,
    EDITIONS,
    EXTENSIONS,
    FORMATS,
    Edition,
    EditionContent,
    Format,
    Redaction,
    ReportContent,
)
from scaleguard.reports.pdf import html_to_pdf
from scaleguard.reports.period import parse_period
from scaleguard.reports.private import (
    REVIEWER_DIR,
    check_private_target,
    commitment,
    report_salt,
    reviewer_dir,
    write_private,
)
from scaleguard.reports.redact import (
    build_edition,
    check_new,
    edition_sha256,
    numbered,
)
from scaleguard.reports.render import (
    dates_of,
    render_html,
    render_markdown,
)
from scaleguard.reports.rowcheck import (
    RECORD_KINDS,
    checked_report,
    report_scopes,
    scope,
    which,
)
from scaleguard.reports.store import (
    Publication,
    RedactionRecord,
    ReviewerEdition,
    RiskReport,
    Submission,
)
from scaleguard.textcheck import free_text
from scaleguard.workspace.files import atomic_write
from scaleguard.workspace.pinned import applied_framework
from scaleguard.workspace.rowcheck import check_rows
from scaleguard.workspace.workspace import Workspace

REPORTS_DIR = "reports"


def today() -> date:
    return datetime.now(UTC).date()


def content_of(report: RiskReport) -> ReportContent:
    return ReportContent.model_validate(dict(report.content))


def _redactions(records: list[RedactionRecord]) -> list[Redaction]:
    return numbered(
        (
            r.id,
            r.section,
            r.span,
            r.category,
            r.justification,
            r.created_by,
            store.record_date(r.created_at),
        )
        for r in records
    )


def resolve(ws: Workspace, report_id: int | None) -> RiskReport:
    """Report ``report_id``, or the latest drafted one when None (its row proven against
    the ledger: :mod:`scaleguard.reports.rowcheck`)."""
    with ws.store.read() as s:
        return checked_report(s, ws, report_id, f"read {which(report_id)}")


def overview(ws: Workspace) -> list[tuple[RiskReport, list[RedactionRecord], list[Publication]]]:
    """Every drafted report with its redactions and publications, oldest first, after
    every such row was proven against the ledger (none edited, added or deleted)."""
    with ws.store.read() as s:
        kinds = ("risk-report", "report-redaction", "report-publication")
        check_rows(s, ws, [scope(kind) for kind in kinds], "list the Risk Reports")
        return [
            (r, store.redactions(s, r.id), store.publications(s, r.id)) for r in store.reports(s)
        ]


def published(ws: Workspace) -> list[tuple[RiskReport, list[Publication]]]:
    """Every report with a public edition, newest first, with its public publications;
    every publication row and those reports' rows proven against the ledger."""
    refusing = "list the published Risk Reports"
    with ws.store.read() as s:
        check_rows(s, ws, [scope("report-publication")], refusing)
        pubs = [p for p in store.publications(s) if p.edition == "public"]
        ids = sorted({p.report_id for p in pubs}, reverse=True)
        check_rows(s, ws, [scope("risk-report", rid) for rid in ids], refusing)
        return [(store.report(s, rid), [p for p in pubs if p.report_id == rid]) for rid in ids]


def public_editions(ws: Workspace, report_id: int) -> list[Publication]:
    """The public publications of report ``report_id``, oldest first, after every
    publication row of the report was proven against the ledger."""
    with ws.store.read() as s:
        check_rows(s, ws, [scope("report-publication", report_id)], f"serve report #{report_id}")
        return [p for p in store.publications(s, report_id) if p.edition == "public"]


# -- drafting -----------------------------------------------------------------------


def draft(
    ws: Workspace,
    *,
    period: str,
    models: list[str],
    framework: str | None = None,
    coverage_date: date | None = None,
    by: str | None = None,
    on: date | None = None,
) -> RiskReport:
    """Draft a Risk Report for ``period`` covering ``models``; its content is frozen.

    Every record row it reads (registry, determinations, overrides, attestations,
    decisions, roadmap) is proven against the signed ledger first: LedgerIntegrityError
    "refusing to draft a Risk Report for PERIOD: ..." (HTTP 500), with nothing recorded.
    """
    actor = default_actor(by)
    span = parse_period(period)
    day = on or today()
    names = list(dict.fromkeys(m.strip() for m in models if m.strip()))
    if not names:
        raise InputError(
            "a Risk Report needs at least one model", hint="name them: --models aurora-2,aurora-3"
        )
    coverage = coverage_date or min(span.end, day)
    if coverage > day:
        raise InputError(
            f"the coverage date {coverage.isoformat()} is after today ({day.isoformat()})",
            hint="a report describes a state already reached; give --coverage-date on or "
            "before today",
        )
    if coverage < span.start:
        raise InputError(
            f"the coverage date {coverage.isoformat()} is before the period {span.label} "
            f"starts ({span.start.isoformat()})",
            hint="the coverage date lies within or after the reporting period",
        )
    fw = applied_framework(ws, framework or _default_framework(ws))
    problem = coverage_problem(fw.doc, coverage, day)
    if problem:
        raise InputError(
            f"this report could not be published today: {problem}",
            hint="give a more recent --coverage-date",
        )
    # every row drafting reads is proven before the framework's first use or any
    # determination is recorded, and again where it is read (reports.gather)
    refusing = f"draft a Risk Report for {span.label}"
    lineage = checked_generations(ws, names, refusing)
    fw, _ = ws.use_framework(fw.ref)
    inputs = gather(
        ws,
        fw,
        period=span,
        lineage=lineage,
        coverage_date=coverage,
        drafted_on=day,
        by=actor,
        refusing=refusing,
    )
    content = assemble(inputs)
    data = content.model_dump(mode="json")
    digest = hashlib.sha256(canonical_json(data)).hexdigest()
    with ws.store.write() as tx:
        return store.add_report(
            tx,
            period=span.label,
            period_start=span.start,
            period_end=span.end,
            coverage_date=coverage,
            framework_ref=fw.ref,
            models=names,
            content=data,
            content_sha256=digest,
            created_by=actor,
        )


def _default_framework(ws: Workspace) -> str:
    chosen = ws.config.frameworks.default
    if chosen is None:
        raise InputError(
            "no framework named and no default in scaleguard.toml",
            hint='pass --framework (e.g. anthropic-rsp@3.4) or set [frameworks] default = "..."',
        )
    return chosen


# -- editions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    report: RiskReport
    edition: EditionContent
    redactions: list[Redaction]
    sha256: str


def build(ws: Workspace, report_id: int | None, edition: str) -> Built:
    """The edition's content and hash, from the report and its redactions on record."""
    chosen = parse_edition(edition)
    refusing = f"build the {chosen} edition of {which(report_id)}"
    with ws.store.read() as s:
        report = checked_report(s, ws, report_id, refusing, ("report-redaction",))
        records = store.redactions(s, report.id)
    reds = _redactions(records)
    ed = build_edition(content_of(report), report.id, reds, chosen)
    return Built(report, ed, reds, edition_sha256(ed))


def unchanged(session: Session, ws: Workspace, built: Built, refusing: str) -> None:
    """ConflictError if a redaction was recorded since ``built`` was made (under the lock);
    LedgerIntegrityError if a redaction row of the report is not what the ledger signed."""
    check_rows(session, ws, [scope("report-redaction", built.report.id)], refusing)
    current = [r.id for r in store.redactions(session, built.report.id)]
    if current != [r.record_id for r in built.redactions]:
        raise ConflictError(
            f"the redactions of report #{built.report.id} changed while this edition was "
            "being prepared; nothing was recorded",
            hint="run the command again",
        )


def render(built: Built, fmt: str) -> bytes:
    """The edition's bytes in ``fmt``: same inputs, same bytes."""
    chosen = parse_format(fmt)
    dates = dates_of(built.edition, built.redactions)
    if chosen == "markdown":
        return render_markdown(built.edition, built.report.content_sha256, dates).encode()
    html = render_html(built.edition, built.report.content_sha256, dates)
    if chosen == "html":
        return html.encode()
    return html_to_pdf(html)


def parse_edition(text: str) -> Edition:
    if text not in EDITIONS:
        raise InputError(f"unknown edition {text!r}", hint="use public or reviewer")
    return text


def parse_format(text: str) -> Format:
    if text not in FORMATS:
        raise InputError(f"unknown format {text!r}", hint="use pdf, html or markdown")
    return text


# -- redaction ----------------------------------------------------------------------


def redact(
    ws: Workspace,
    report_id: int | None,
    section: str,
    *,
    category: str,
    justification: str,
    span: str | None = None,
    by: str | None = None,
) -> tuple[RedactionRecord, Redaction]:
    """Withhold a section, or every occurrence of a span, from the public edition."""
    if category not in CATEGORIES:
        raise InputError(
            f"unknown redaction category {category!r}", hint=f"use one of {', '.join(CATEGORIES)}"
        )
    if not justification.strip():
        raise InputError("a redaction needs a justification", hint='add --why "..."')
    for text in (justification, section, span or ""):
        try:
            free_text(text)
        except ValueError as exc:
            raise InputError(f"the redaction {exc}") from None
    actor = default_actor(by)
    with ws.store.write() as tx:
        kinds = ("report-publication", "report-redaction")
        report = checked_report(tx, ws, report_id, f"redact {which(report_id)}", kinds)
        published = [p for p in store.publications(tx, report.id) if p.edition == "public"]
        if published:
            raise ConflictError(
                f"the public edition of report #{report.id} is already published "
                f"(publication #{published[0].id}); it cannot be redacted afterwards",
                hint="draft a new report with 'scaleguard report new' and redact that one",
            )
        existing = _redactions(store.redactions(tx, report.id))
        new = Redaction(
            number=len(existing) + 1,
            section=section,
            span=span,
            category=category,
            justification=justification.strip(),
            by=actor,
            on=today(),
        )
        content = content_of(report)
        check_new(content, existing, new)
        check_public(content, report.id, report.content_sha256, [*existing, new])
        record = store.add_redaction(
            tx,
            report_id=report.id,
            section=section,
            span=span,
            category=category,
            justification=justification.strip(),
            created_by=actor,
        )
    return record, new.model_copy(update={"record_id": record.id})


# -- submission and publication -----------------------------------------------------


def submit(
    ws: Workspace,
    report_id: int | None,
    *,
    to: str = "Board and LTBT",
    on: date | None = None,
    by: str | None = None,
) -> Submission:
    """Record that the report went to its approvers; the reviewers' clock starts then."""
    actor = default_actor(by)
    day = on or today()
    if day > today():
        raise InputError(
            f"the submission date {day.isoformat()} is in the future",
            hint="record a submission once it has happened",
        )
    if not to.strip():
        raise InputError("say to whom the report was submitted", hint='--to "Board and LTBT"')
    with ws.store.write() as tx:
        refusing = f"submit {which(report_id)}"
        report = checked_report(tx, ws, report_id, refusing, ("report-submission",))
        drafted = store.record_date(report.created_at)
        if day < drafted:
            raise InputError(
                f"the submission date {day.isoformat()} is before report #{report.id} was "
                f"drafted ({drafted.isoformat()})",
                hint="a report is submitted after it is drafted",
            )
        earlier = store.submissions(tx, report.id)
        if earlier:
            raise ConflictError(
                f"report #{report.id} was already submitted on "
                f"{earlier[0].submitted_on.isoformat()} to {earlier[0].submitted_to}",
                hint="a report is submitted once; draft a new report for a revised one",
            )
        return store.add_submission(
            tx, report_id=report.id, submitted_on=day, submitted_to=to.strip(), created_by=actor
        )


@dataclass(frozen=True)
class Published:
    publication: Publication | ReviewerEdition
    path: Path
    created: bool

    @property
    def digest(self) -> str:
        """The public file's SHA-256, or a reviewer edition's salted commitment."""
        p = self.publication
        return p.sha256 if isinstance(p, Publication) else p.commitment


def default_path(ws: Workspace, report: RiskReport, edition: str, fmt: Format) -> Path:
    name = f"{report.period}-report-{report.id}-{edition}.{EXTENSIONS[fmt]}"
    if edition == "reviewer":
        return ws.root / REVIEWER_DIR / name
    return ws.root / REPORTS_DIR / name


def publish(
    ws: Workspace,
    report_id: int | None,
    *,
    edition: str,
    fmt: str,
    output: Path | None = None,
    by: str | None = None,
) -> Published:
    """Write an edition and record it in the ledger.

    A public edition is recorded by the SHA-256 of its bytes; a reviewer
    edition goes to its own private folder and is recorded under its own
    entry kind by salted commitments (see :mod:`scaleguard.reports.private`).
    Publishing the same edition again gives the same bytes and records
    nothing new: the earlier record is returned.
    """
    actor = default_actor(by)
    chosen = parse_format(fmt)
    built = build(ws, report_id, edition)
    report = built.report
    reviewer = built.edition.edition == "reviewer"
    if not reviewer:
        fw = applied_framework(ws, report.framework_ref)
        problem = coverage_problem(fw.doc, report.coverage_date, today())
        if problem:
            raise ConflictError(
                f"report #{report.id} cannot be published: {problem}",
                hint="draft a new report with a more recent --coverage-date",
            )
    data = render(built, chosen)
    path = (output or default_path(ws, report, built.edition.edition, chosen)).expanduser()
    if path.exists() and path.is_dir():
        raise InputError(f"{path} is a folder", hint="give a file name with --output")
    if reviewer:
        check_private_target(ws, path)
        if output is None:
            reviewer_dir(ws)
    existed = path.exists()
    wrote = False
    try:
        with ws.store.write() as tx:
            # published over an intact record: the report, its redactions, submission and
            # earlier editions, and its review so far (a deleted statement is not left out)
            refusing = f"publish report #{report.id}"
            check_rows(tx, ws, report_scopes(report.id, RECORD_KINDS), refusing)
            unchanged(tx, ws, built, refusing)
            previous: Publication | ReviewerEdition | None = None
            if reviewer:  # by salted commitments (the salt made once the record is checked)
                salt = report_salt(ws, report.id)
                digest = commitment(salt, data)
                edition_digest = commitment(salt, built.sha256.encode())
                for r in store.reviewer_editions(tx, report.id):
                    if (r.format, r.commitment) == (chosen, digest):
                        previous = r
                        break
            else:
                digest = hashlib.sha256(data).hexdigest()
                for p in store.publications(tx, report.id):
                    if (p.edition, p.format, p.sha256) == ("public", chosen, digest):
                        previous = p
                        break
            if reviewer:
                write_private(path, data)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, data)
            wrote = True
            if previous is not None:
                return Published(previous, path, False)
            record: Publication | ReviewerEdition
            if reviewer:
                record = store.add_reviewer_edition(
                    tx,
                    report_id=report.id,
                    format=chosen,
                    commitment=digest,
                    size=len(data),
                    edition_commitment=edition_digest,
                    redaction_ids=[r.record_id for r in built.redactions],
                    path=ws.relative(path),
                    created_by=actor,
                )
            else:
                record = store.add_publication(
                    tx,
                    report_id=report.id,
                    edition=built.edition.edition,
                    format=chosen,
                    sha256=digest,
                    size=len(data),
                    edition_sha256=built.sha256,
                    redaction_ids=[r.record_id for r in built.redactions],
                    path=ws.relative(path),
                    created_by=actor,
                )
    except BaseException:
        if wrote and not existed:
            path.unlink(missing_ok=True)
        raise
    return Published(record, path, True)


# -- cadence ------------------------------------------------------------------------


def cadence(
    ws: Workspace, *, framework: str | None = None, as_of: date | None = None
) -> CadenceStatus:
    """Last report, next due date and whether one is due or overdue."""
    fw = applied_framework(ws, framework or _default_framework(ws))
    refusing = "tell when the next Risk Report is due"
    with ws.store.read() as s:
        check_rows(s, ws, [scope("report-publication")], refusing)
        first_public: dict[int, date] = {}
        for p in store.publications(s):
            if p.edition == "public" and p.report_id not in first_public:
                first_public[p.report_id] = store.record_date(p.created_at)
        last = max(first_public.items(), key=lambda kv: (kv[1], kv[0]), default=None)
        period = checked_report(s, ws, last[0], refusing).period if last else None
    return cadence_status(
        fw.doc,
        as_of or today(),
        last_report_id=last[0] if last else None,
        last_period=period,
        last_published=last[1] if last else None,
    )
