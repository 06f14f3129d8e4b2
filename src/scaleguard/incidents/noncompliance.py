"""Staff reports of potential noncompliance: anonymous or named, investigated, told to the board.

An anonymous report stores no identifying data: no user name, no host, no
address, and no time finer than the day, neither in its row nor in its
ledger entry (whose time is set to midnight UTC of the day received). The
reporter gets a random follow-up token; only its SHA-256 is stored.

Recipients come from the workspace file ``noncompliance.yaml``: at least two,
at least one who does not report to the Responsible Scaling Officer, and a
board member, who must receive any report concerning the RSO (the RSO may not).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from scaleguard.errors import InputError, NotFoundError, Problem
from scaleguard.framework.yamlsource import read_listing
from scaleguard.incidents.span import Span

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scaleguard.incidents.store import NcEvent, NcReport
    from scaleguard.workspace.workspace import Workspace

RECIPIENTS_FILE = "noncompliance.yaml"
ANONYMOUS = "anonymous"
MAX_TEXT = 20_000
MONTHLY = Span.parse("P1M")
RECIPIENTS_EXAMPLE = """recipients:
  - {id: rso, name: Responsible Scaling Officer, is_rso: true}
  - {id: general-counsel, name: General Counsel, reports_to_rso: false}
  - {id: board-chair, name: Chair of the Board, board: true, reports_to_rso: false}
"""

Status = Literal["received", "triaged", "investigating", "closed", "escalated"]
STATUSES: tuple[str, ...] = ("received", "triaged", "investigating", "closed", "escalated")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    is_rso: bool = False
    reports_to_rso: bool = Field(False, description="Whether this person reports to the RSO.")
    board: bool = False


def load_recipients(root: Path) -> list[Recipient]:
    path = root / RECIPIENTS_FILE
    hint = f"create {path} listing who may receive reports, e.g.:\n{RECIPIENTS_EXAMPLE}"
    if not path.is_file():
        raise InputError(f"{path} does not exist: no recipients are configured", hint=hint)
    items, source = read_listing(
        path.read_bytes(),
        str(path),
        key="recipients",
        kind="noncompliance recipients",
        example="id",
        limit=200,
        hint=hint,
    )
    out: list[Recipient] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        try:
            out.append(Recipient.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ("recipients", i, *err["loc"])
                problems.append(source.problem(loc, err["msg"], "see the example in the docs"))
    ids = [r.id for r in out]
    for i, rid in enumerate(ids):
        if rid in ids[:i]:
            problems.append(source.problem(("recipients", i, "id"), f"duplicate id {rid!r}"))
    if not problems:
        if len(out) < 2:
            problems.append(source.problem(("recipients",), "at least two recipients are needed"))
        if not any(not r.is_rso and not r.reports_to_rso for r in out):
            problems.append(
                source.problem(
                    ("recipients",),
                    "no recipient is independent of the RSO",
                    "add someone who does not report to the RSO (reports_to_rso: false)",
                )
            )
        if not any(r.board for r in out):
            problems.append(
                source.problem(
                    ("recipients",),
                    "no board member is listed",
                    "add a board member (board: true): reports about the RSO go to them",
                )
            )
    if problems:
        raise InputError(f"{path}: {len(problems)} problem(s)", problems=problems, hint=hint)
    return out


def check_recipients(
    chosen: Sequence[str], available: Sequence[Recipient], *, concerns_rso: bool
) -> list[str]:
    """The chosen recipients, checked; a report about the RSO goes to the board, not the RSO."""
    by_id = {r.id: r for r in available}
    if not chosen:
        raise InputError(
            "choose at least one --recipient", hint=f"recipients: {', '.join(sorted(by_id))}"
        )
    unknown = [c for c in chosen if c not in by_id]
    if unknown:
        raise InputError(
            f"unknown recipient {unknown[0]!r}", hint=f"recipients: {', '.join(sorted(by_id))}"
        )
    picked = [by_id[c] for c in dict.fromkeys(chosen)]
    if concerns_rso:
        if any(r.is_rso for r in picked):
            raise InputError(
                "a report concerning the RSO may not go to the RSO",
                hint="send it to a board member and others who do not report to the RSO",
            )
        if not any(r.board for r in picked):
            boards = ", ".join(r.id for r in available if r.board)
            raise InputError(
                "a report concerning the RSO must go to a board member",
                hint=f"add --recipient with one of: {boards}",
            )
    return [r.id for r in picked]


TOKEN_PREFIX = "nc_"
"""Starts every follow-up token: a bare random token can begin with '-', which a
command line then reads as an option, and the prefix makes a leaked token easy to spot."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _text(value: str, what: str) -> str:
    if not value or not value.strip():
        raise InputError(f"the {what} is empty", hint=f"write the {what}")
    if len(value) > MAX_TEXT:
        raise InputError(f"the {what} is over {MAX_TEXT:,} characters", hint="shorten it")
    return value.strip()


@dataclass(frozen=True)
class Submitted:
    report: NcReport
    token: str


def submit(
    ws: Workspace,
    *,
    text: str,
    recipients: Sequence[str],
    anonymous: bool,
    reporter: str | None = None,
    concerns_rso: bool = False,
    today: date | None = None,
) -> Submitted:
    from scaleguard.incidents import store

    if anonymous and reporter:
        raise InputError(
            "an anonymous report records no name", hint="use either --anonymous or --as NAME"
        )
    if not anonymous and not (reporter and reporter.strip()):
        raise InputError("say who is reporting", hint="use --as NAME, or --anonymous")
    body = _text(text, "report")
    chosen = check_recipients(recipients, load_recipients(ws.root), concerns_rso=concerns_rso)
    day = today or datetime.now(UTC).date()
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    values = {
        "anonymous": anonymous,
        "reporter": None if anonymous else reporter,
        "recipients": chosen,
        "concerns_rso": concerns_rso,
        "text": body,
        "token_sha256": token_digest(token),
        "received_on": day,
        "created_by": ANONYMOUS if anonymous else reporter,
    }
    with ws.store.write() as tx:
        report = store.add_nc_report(tx, values, at=_day_start(day) if anonymous else None)
    return Submitted(report, token)


@dataclass(frozen=True)
class ReportState:
    report: NcReport
    events: tuple[NcEvent, ...]

    @property
    def status(self) -> str:
        for e in reversed(self.events):
            if e.action != "message":
                return e.status
        return "received"

    @property
    def finding(self) -> NcEvent | None:
        closes = [e for e in self.events if e.action == "close"]
        return closes[-1] if closes else None

    @property
    def escalation_due(self) -> bool:
        f = self.finding
        return bool(
            f
            and f.substantiated
            and f.material_risk
            and not any(e.action == "escalate" for e in self.events)
        )

    def reporter_update_due(self) -> date | None:
        """Next monthly update owed to the reporter while the investigation is open."""
        if self.status in ("closed", "escalated"):
            return None
        updates = [e.on_date for e in self.events if e.action == "reporter-update"]
        last = max(updates) if updates else self.report.received_on
        return MONTHLY.add_date(last)


def checked_states(
    session: Session, ws: Workspace, refusing: str = "list the noncompliance reports"
) -> list[ReportState]:
    """Every report and its handling, after every one of those rows was proven to be what
    the ledger's key signed and none it signed was found missing (LedgerIntegrityError
    "refusing to ``refusing``" otherwise; :mod:`.checks`)."""
    from scaleguard.incidents import checks, store
    from scaleguard.workspace.rowcheck import check_rows

    check_rows(session, ws, checks.all_reports_scopes(), refusing)
    by_report: dict[int, list[NcEvent]] = {}
    for e in store.nc_events(session):
        by_report.setdefault(e.report_id, []).append(e)
    return [ReportState(r, tuple(by_report.get(r.id, ()))) for r in store.nc_reports(session)]


def states(ws: Workspace, *, refusing: str = "list the noncompliance reports") -> list[ReportState]:
    """Every report and its handling (:func:`checked_states`, in a read transaction)."""
    with ws.store.read() as s:
        return checked_states(s, ws, refusing)


def _checked_state(session: Session, ws: Workspace, report_id: int, refusing: str) -> ReportState:
    """Report ``report_id`` and its events, checked as :func:`checked_states` checks all."""
    from scaleguard.incidents import checks, store
    from scaleguard.workspace.rowcheck import check_rows

    check_rows(session, ws, checks.report_scopes(report_id), refusing)
    return ReportState(
        store.nc_report(session, report_id), tuple(store.nc_events(session, report_id))
    )


def state(ws: Workspace, report_id: int) -> ReportState:
    """One report and its handling, its rows checked against the ledger first."""
    with ws.store.read() as s:
        return _checked_state(s, ws, report_id, f"show noncompliance report {report_id}")


_NEXT = {
    "triage": ({"received"}, "triaged"),
    "investigate": ({"received", "triaged"}, "investigating"),
    "close": ({"received", "triaged", "investigating"}, "closed"),
    "escalate": ({"closed"}, "escalated"),
}


def act(
    ws: Workspace,
    report_id: int,
    action: str,
    *,
    by: str,
    note: str | None = None,
    substantiated: bool | None = None,
    material_risk: bool | None = None,
    today: date | None = None,
) -> NcEvent:
    """Triage, investigate, close (with findings) or escalate: each a ledger record."""
    from scaleguard.incidents import store

    if action not in (*_NEXT, "reporter-update"):
        raise InputError(f"unknown action {action!r}", hint=f"use one of: {', '.join(_NEXT)}")
    day = today or datetime.now(UTC).date()
    with ws.store.write() as tx:  # checked under the write lock: no two closes race
        refusing = f"{action} noncompliance report {report_id}"
        current = _checked_state(tx, ws, report_id, refusing)
        if current.report.concerns_rso:
            rso = {x for r in load_recipients(ws.root) if r.is_rso for x in (r.id, r.name)}
            if by in rso:
                raise InputError(
                    f"report {report_id} concerns the RSO, who may not handle it ({by!r})",
                    hint="a board member or someone independent of the RSO records this step",
                )
        if action == "reporter-update":
            status = current.status
            if status in ("closed", "escalated"):
                raise InputError(f"report {report_id} is {status}", hint="nothing further is owed")
        else:
            allowed, status = _NEXT[action]
            if current.status not in allowed:
                raise InputError(
                    f"report {report_id} is {current.status}; cannot {action} it",
                    hint=f"{action} applies to a report that is {' or '.join(sorted(allowed))}",
                )
            if action == "escalate" and not current.escalation_due:
                raise InputError(
                    f"report {report_id} was not found substantiated with a material safety risk",
                    hint="only those are escalated; the quarterly update covers every report",
                )
        if action == "close":
            if substantiated is None or material_risk is None:
                raise InputError(
                    "closing needs the findings",
                    hint="give --substantiated yes|no and --material-risk yes|no",
                )
            if material_risk and not substantiated:
                raise InputError(
                    "a material risk was recorded for an unsubstantiated report",
                    hint="a report is escalated when it is substantiated and poses a material risk",
                )
        elif substantiated is not None or material_risk is not None:
            raise InputError("findings are recorded when closing", hint="use 'noncompliance close'")
        if action in ("close", "reporter-update") and not (note and note.strip()):
            raise InputError(f"{action} needs a --note", hint="document what was found or told")
        return store.add_nc_event(
            tx,
            {
                "report_id": report_id,
                "action": action,
                "status": status,
                "substantiated": substantiated,
                "material_risk": material_risk,
                "note": note.strip() if note and note.strip() else None,
                "on_date": day,
                "created_by": by,
            },
        )


def follow_up(
    ws: Workspace, token: str, *, message: str | None = None, today: date | None = None
) -> ReportState:
    """What the token's holder may see; a message from them is recorded like the report itself.

    The token is looked up among every report, each proven against the ledger first, and
    the message is recorded in the transaction that read the report: whether it is
    anonymous (which decides how finely the message is dated and whom it names) is what the
    key signed, not what the database says now."""
    from scaleguard.incidents import store

    body = None if message is None else _text(message, "message")
    if body is None:
        with ws.store.read() as s:
            return _by_token(s, ws, token)
    day = today or datetime.now(UTC).date()
    with ws.store.write() as tx:
        report = _by_token(tx, ws, token).report
        anonymous = report.anonymous
        store.add_nc_event(
            tx,
            {
                "report_id": report.id,
                "action": "message",
                "status": "message",
                "substantiated": None,
                "material_risk": None,
                "note": body,
                "on_date": day,
                "created_by": ANONYMOUS if anonymous else report.created_by,
            },
            at=_day_start(day) if anonymous else None,
        )
    return state(ws, report.id)


def _by_token(session: Session, ws: Workspace, token: str) -> ReportState:
    """The report the follow-up token was issued for, looked up among every report, all
    of them and its events checked against the ledger first."""
    from scaleguard.incidents import checks, store
    from scaleguard.workspace.rowcheck import check_rows

    refusing = "follow up on a noncompliance report"
    check_rows(session, ws, (checks.reports_scope(),), refusing)
    report = store.nc_report_by_token(session, token_digest(token))
    if report is None:
        raise NotFoundError(
            "no report has this follow-up token", hint="check the token you were given"
        )
    return _checked_state(session, ws, report.id, refusing)


def quarter_bounds(quarter: str) -> tuple[date, date]:
    match = _QUARTER.match(quarter.strip())
    if not match:
        raise InputError(f"{quarter!r} is not a quarter", hint="write it as 2026-Q4")
    year, q = int(match.group(1)), int(match.group(2))
    start = date(year, 3 * (q - 1) + 1, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, end - timedelta(days=1)


def quarterly(all_states: Sequence[ReportState], quarter: str) -> dict[str, object]:
    """The board update: every report received by the quarter's end and open at its start."""
    start, end = quarter_bounds(quarter)
    rows = []
    counts = {
        "received": 0,
        "substantiated": 0,
        "unsubstantiated": 0,
        "open": 0,
        "material_risk": 0,
        "escalated": 0,
        "concerning_rso": 0,
        "anonymous": 0,
    }
    for st in all_states:
        r = st.report
        if r.received_on > end:
            continue
        events = [e for e in st.events if e.on_date <= end]
        closed = [e for e in events if e.action == "close"]
        if closed and closed[-1].on_date < start:
            continue  # settled in an earlier quarter and already reported there
        if start <= r.received_on:
            counts["received"] += 1
        finding = closed[-1] if closed else None
        if finding is None:
            counts["open"] += 1
            outcome = "open"
        elif finding.substantiated:
            counts["substantiated"] += 1
            outcome = "substantiated"
        else:
            counts["unsubstantiated"] += 1
            outcome = "not substantiated"
        if finding is not None and finding.material_risk:
            counts["material_risk"] += 1
        escalated = any(e.action == "escalate" for e in events)
        counts["escalated"] += int(escalated)
        counts["concerning_rso"] += int(r.concerns_rso)
        counts["anonymous"] += int(r.anonymous)
        last = [e for e in events if e.action != "message"]
        rows.append(
            {
                "report": r.id,
                "received_on": r.received_on.isoformat(),
                "anonymous": r.anonymous,
                "concerns_rso": r.concerns_rso,
                "status": last[-1].status if last else "received",
                "outcome": outcome,
                "material_risk": bool(finding and finding.material_risk),
                "escalated": escalated,
                "finding": finding.note if finding else None,
            }
        )
    return {
        "quarter": quarter.strip(),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "counts": {**counts, "covered": len(rows)},
        "reports": rows,
    }


def quarterly_markdown(update: dict[str, object]) -> str:
    counts = update["counts"]
    assert isinstance(counts, dict)
    lines = [
        f"# Noncompliance reports: board update for {update['quarter']}",
        "",
        f"Period {update['from']} to {update['to']}. Every report is counted, substantiated or "
        "not; reporters are not named.",
        "",
        "| measure | count |",
        "|---|---|",
    ]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in counts.items()]
    lines += [
        "",
        "| report | received | status | outcome | material risk | escalated |",
        "|---|---|---|---|---|---|",
    ]
    reports = update["reports"]
    assert isinstance(reports, list)
    for row in reports:
        lines.append(
            f"| {row['report']} | {row['received_on']} | {row['status']} | {row['outcome']} | "
            f"{'yes' if row['material_risk'] else 'no'} | {'yes' if row['escalated'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"
