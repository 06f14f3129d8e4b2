"""Recurring duties around the published framework: review, change publication, reports.

From the workspace's framework history (the versions it has used, dated by
their effective dates), dated compliance records (reviews, publications,
transparency reports, internal-use summaries, board updates) and the model
registry, :func:`status` says for each duty when it was last met, when it is
next due, and whether it is met, late, open or overdue. SB 53 supplies the
statutory duties; the framework's own noncompliance cadence supplies the
board's quarterly update (derived from the framework document).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Literal

from scaleguard.errors import ConflictError, InputError, ScaleguardError
from scaleguard.incidents.regimes import Regime, load_regimes
from scaleguard.incidents.span import Span

if TYPE_CHECKING:
    from scaleguard.framework.loader import LoadedFramework
    from scaleguard.incidents.noncompliance import ReportState
    from scaleguard.incidents.store import ComplianceRecord
    from scaleguard.store.records import FrameworkUse
    from scaleguard.workspace.workspace import Workspace

RECORD_KINDS = (
    "framework-review",
    "framework-published",
    "transparency-report",
    "internal-use-summary",
    "board-quarterly-update",
)
DutyState = Literal["met", "late", "open", "overdue", "not_applicable"]


def today() -> date:
    return datetime.now(UTC).date()


def record(
    ws: Workspace,
    *,
    kind: str,
    subject: str,
    on: date,
    by: str,
    url: str | None = None,
    sha256: str | None = None,
    note: str | None = None,
) -> ComplianceRecord:
    from scaleguard.incidents import store

    if kind not in RECORD_KINDS:
        raise InputError(f"unknown record kind {kind!r}", hint=f"kinds: {', '.join(RECORD_KINDS)}")
    if not subject.strip():
        raise InputError("the subject is empty", hint="name the framework version or model")
    if on > today():
        raise InputError(f"{on} is in the future", hint="record what has happened")
    if url is not None and not url.startswith(("https://", "http://")):
        raise InputError(f"{url!r} is not a URL", hint="give the http(s) address published")
    with ws.store.write() as tx:
        return store.add_compliance_record(
            tx,
            {
                "kind": kind,
                "subject": subject.strip(),
                "on_date": on,
                "url": url,
                "sha256": sha256,
                "note": note,
                "created_by": by,
            },
        )


@dataclass(frozen=True)
class Duty:
    duty: str
    name: str
    subject: str
    last: date | None
    due: date | None
    state: DutyState
    detail: str
    source: str


@dataclass(frozen=True)
class Adopted:
    ref: str
    effective: date
    framework: LoadedFramework


def _state(done_on: date | None, due: date | None, as_of: date) -> DutyState:
    if due is None:
        return "open" if done_on is None else "met"
    if done_on is not None:
        return "met" if done_on <= due else "late"
    return "overdue" if as_of > due else "open"


def _cite(regime: Regime | None, duty_id: str) -> tuple[str, Span | None, Span | None]:
    if regime is None:
        return "", None, None
    for d in regime.doc.recurring:
        if d.id == duty_id:
            verified = "" if regime.verified(d.source) else " (unverified)"
            return f"{regime.url(d.source)} {d.source.section}{verified}", d.every, d.within
    return "", None, None


def history(ws: Workspace) -> list[Adopted]:
    """The versions of the workspace's framework it has used, oldest first (every
    ``frameworks_loaded`` row checked against the ledger first)."""
    from scaleguard.incidents import checks
    from scaleguard.store import repo
    from scaleguard.workspace.rowcheck import check_rows

    with ws.store.read() as s:
        check_rows(s, ws, (checks.frameworks_scope(),), "list the framework versions used")
        uses = repo.framework_uses(s)
    return _adopted(ws, uses)


def _adopted(ws: Workspace, uses: Sequence[FrameworkUse]) -> list[Adopted]:
    from scaleguard.workspace.pinned import refuse_changed, standing_among

    lib = ws.library()
    out: dict[str, Adopted] = {}
    default = ws.config.frameworks.default
    family = default.split("@")[0] if default else None
    if family is None and uses:  # no default: the family of the framework used last
        family = uses[-1].ref.split("@")[0]
    for use in uses:
        if use.ref in out:
            continue
        try:
            fw = lib.get(use.ref)
        except ScaleguardError as exc:
            if family is None or use.ref.split("@")[0] != family:
                continue  # a document of another framework: no duty here depends on it
            # without it a change to or from this version would drop out of the duties
            raise ConflictError(
                f"{use.ref}, used in this workspace on {use.loaded_at[:10]} "
                f"(sha256 {use.digest[:12]}), no longer loads ({exc.message}): the duties "
                "its changes brought cannot be told without it",
                hint=f"restore the document of {use.ref} in frameworks/ as it was used",
            ) from None
        if family is not None and fw.doc.framework.id != family:
            continue
        # duties derived from rules changed under a version already used would be wrong
        refuse_changed(ws, fw, standing_among(fw, uses))
        out[use.ref] = Adopted(use.ref, fw.doc.framework.effective_date, fw)
    return sorted(out.values(), key=lambda a: (a.effective, a.ref))


def status(ws: Workspace, *, as_of: date | None = None) -> list[Duty]:
    from scaleguard.diff.engine import diff_frameworks
    from scaleguard.incidents import checks, noncompliance, store
    from scaleguard.store import repo
    from scaleguard.workspace.rowcheck import check_rows

    day = as_of or today()
    regs = {r.id: r for r in load_regimes(ws.root)}
    sb53 = regs.get("sb53")
    refusing = "compute the compliance status"
    with ws.store.read() as s:  # one snapshot, every row proven against the ledger first
        check_rows(s, ws, checks.compliance_scopes(), refusing)
        records = store.compliance_records(s)
        models = repo.models(s)
        uses = repo.framework_uses(s)
        reports = noncompliance.checked_states(s, ws, refusing)
    adopted = _adopted(ws, uses)
    return [
        *_framework_duties(adopted, records, sb53, day, diff_frameworks),
        *_transparency(models, records, sb53, day),
        *_internal_use(records, sb53, day),
        *_board(adopted, records, reports, sb53, day),
    ]


def _of(records: Sequence[ComplianceRecord], kind: str, subject: str | None = None) -> list[date]:
    return sorted(
        r.on_date for r in records if r.kind == kind and (subject is None or r.subject == subject)
    )


def _framework_duties(
    adopted: Sequence[Adopted],
    records: Sequence[ComplianceRecord],
    sb53: Regime | None,
    day: date,
    differ: object,
) -> list[Duty]:
    out: list[Duty] = []
    source, every, _ = _cite(sb53, "framework-review")
    every = every or Span.parse("P1Y")
    if not adopted:
        out.append(
            Duty(
                "framework-review",
                "Annual framework review",
                "-",
                None,
                None,
                "not_applicable",
                "no framework version used in this workspace yet",
                source,
            )
        )
        return out
    reviews = [a.effective for a in adopted] + _of(records, "framework-review")
    last = max(d for d in reviews if d <= day) if any(d <= day for d in reviews) else None
    due = every.add_date(last) if last else None
    state: DutyState = "overdue" if due and day > due else "open"
    out.append(
        Duty(
            "framework-review",
            "Annual framework review",
            adopted[-1].ref,
            last,
            due,
            state,
            f"last review or new version {last}; next due {due}",
            source,
        )
    )
    source, _, within = _cite(sb53, "framework-change-publication")
    within = within or Span.parse("P30D")
    for old, new in itertools.pairwise(adopted):
        diff = differ(old.framework, new.framework)  # type: ignore[operator]
        counts = diff.counts
        material = counts["weakening"] + counts["strengthening"]
        if not material:
            out.append(
                Duty(
                    "framework-change-publication",
                    "Publish a material change within 30 days",
                    new.ref,
                    None,
                    None,
                    "not_applicable",
                    f"no weakening or strengthening change from {old.ref}",
                    source,
                )
            )
            continue
        published = _of(records, "framework-published", new.ref)
        done = published[0] if published else None
        due = within.add_date(new.effective)
        out.append(
            Duty(
                "framework-change-publication",
                "Publish a material change within 30 days",
                new.ref,
                done,
                due,
                _state(done, due, day),
                f"{counts['weakening']} weakening, {counts['strengthening']} strengthening "
                f"change(s) from {old.ref}; effective {new.effective}; "
                + (f"published {done}" if done else "no publication recorded"),
                source,
            )
        )
    return out


def _transparency(
    models: Sequence[object], records: Sequence[ComplianceRecord], sb53: Regime | None, day: date
) -> list[Duty]:
    source, _, _ = _cite(sb53, "transparency-report")
    out = []
    for m in models:
        own = getattr(m, "own", False)
        released = getattr(m, "released_on", None)
        status_ = str(getattr(m, "status", ""))
        if not own or released is None or ("deploy" not in status_ and "releas" not in status_):
            continue
        name = str(getattr(m, "name", ""))
        reports = _of(records, "transparency-report", name)
        on_time = [d for d in reports if d <= released]
        done = on_time[0] if on_time else (reports[0] if reports else None)
        out.append(
            Duty(
                "transparency-report",
                "Transparency report on or before deployment",
                name,
                done,
                released,
                _state(done, released, day),
                f"deployed {released}; "
                + (f"report dated {done}" if done else "no transparency report recorded"),
                source,
            )
        )
    return out


def _internal_use(
    records: Sequence[ComplianceRecord], sb53: Regime | None, day: date
) -> list[Duty]:
    source, every, _ = _cite(sb53, "internal-use-summary")
    if sb53 is None or every is None:
        return []
    sent = [d for d in _of(records, "internal-use-summary") if d <= day]
    start = sb53.doc.regime.in_force_from
    last = sent[-1] if sent else None
    due = every.add_date(last or start)
    state: DutyState = "overdue" if day > due else "open"
    return [
        Duty(
            "internal-use-summary",
            "Internal-use risk summary to the Office of Emergency Services",
            "-",
            last,
            due,
            state,
            f"every {every.describe()}; last {last or 'never'}",
            source,
        )
    ]


def _board(
    adopted: Sequence[Adopted],
    records: Sequence[ComplianceRecord],
    reports: Sequence[ReportState],
    sb53: Regime | None,
    day: date,
) -> list[Duty]:
    """The board's quarterly noncompliance update, from the framework's own cadence."""
    from scaleguard.incidents.own import framework_regime

    every: Span | None = None
    source = ""
    if adopted:
        own = framework_regime(adopted[-1].framework)
        for d in own.doc.recurring:
            if d.check == "board_quarterly" and d.every is not None:
                every = d.every
                source = f"{own.url(d.source)} {d.source.section} ({own.doc.regime.title})"
                break
    if every is None:
        source, every, _ = _cite(sb53, "officers-quarterly")
    if every is None:
        return []
    received = sorted(r.report.received_on for r in reports)
    sent = [d for d in _of(records, "board-quarterly-update") if d <= day]
    if not received and not sent:
        return [
            Duty(
                "board-quarterly-update",
                "Quarterly noncompliance update to the board",
                "-",
                None,
                None,
                "not_applicable",
                "no noncompliance reports yet",
                source,
            )
        ]
    last = sent[-1] if sent else None
    due = every.add_date(last or received[0])
    state: DutyState = "overdue" if day > due else "open"
    return [
        Duty(
            "board-quarterly-update",
            "Quarterly noncompliance update to the board",
            "-",
            last,
            due,
            state,
            f"every {every.describe()}; last {last or 'never'}",
            source,
        )
    ]
