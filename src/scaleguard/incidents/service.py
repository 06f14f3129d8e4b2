"""Incident operations over a workspace: record, update, resolve, submit, and the clock.

Inputs are checked before anything is written; each operation is one write
transaction, so a rejected input leaves the database as it was. Every read of
incident rows proves them against the ledger first (:mod:`.checks`): an edited,
forged or deleted row is refused, never turned into a deadline.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from scaleguard.errors import InputError
from scaleguard.incidents import clocks, regimes
from scaleguard.incidents.clocks import IncidentFacts, Obligation, Submission, iso

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scaleguard.incidents.store import Incident, IncidentEvent
    from scaleguard.workspace.workspace import Workspace

_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?(Z|[+-]\d{2}:?\d{2})?$"
)
MAX_TEXT = 20_000
STATUSES = ("investigating", "contained", "monitoring", "reported", "other")


def parse_time(text: str, what: str) -> datetime:
    """``2026-11-20T09:00Z`` or ``...+01:00`` to UTC; a time without a zone is refused."""
    raw = text.strip()
    match = _TIME.match(raw)
    if not match:
        raise InputError(
            f"{what}: {text!r} is not a date-time",
            hint="write e.g. 2026-11-20T09:00Z or 2026-11-20T10:00+01:00",
        )
    if match.group(4) is not None and match.group(7) is None:
        raise InputError(
            f"{what}: {text!r} has no timezone",
            hint="add Z for UTC or an offset such as +01:00; deadlines depend on it",
        )
    if match.group(4) is None and match.group(7) is None:
        raw += "T00:00Z"  # a bare date is the start of that day, UTC
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError as exc:
        raise InputError(f"{what}: {text!r}: {exc}", hint="check the date") from None
    return moment.astimezone(UTC)


def _stored_time(text: str) -> datetime:
    """A record's own RFC 3339 UTC time (``...Z``, maybe with microseconds)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _now() -> datetime:
    return datetime.now(UTC)


def _text(value: str | None, what: str, *, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InputError(f"{what} is empty", hint=f"give a {what}")
        return None
    if len(value) > MAX_TEXT:
        raise InputError(f"{what} is over {MAX_TEXT:,} characters", hint="shorten it")
    return value.strip()


def _not_future(moment: datetime, what: str, now: datetime) -> None:
    if moment > now + timedelta(minutes=5):
        raise InputError(
            f"{what} {iso(moment)} is in the future",
            hint="record what has happened; check the date and the timezone",
        )


def open_incident(
    ws: Workspace,
    *,
    title: str,
    discovered: datetime,
    kinds: Sequence[str],
    models: Sequence[str] = (),
    determined: datetime | None = None,
    imminent_risk: bool = False,
    internal_use: bool = False,
    description: str | None = None,
    by: str,
    now: datetime | None = None,
) -> Incident:
    from scaleguard.incidents import store
    from scaleguard.store import repo

    moment = now or _now()
    title_ = _text(title, "title", required=True)
    if not kinds:
        raise InputError(
            "an incident needs at least one --kind",
            hint=f"kinds: {', '.join(regimes.KINDS)}",
        )
    unknown = [k for k in kinds if k not in regimes.KINDS]
    if unknown:
        raise InputError(
            f"unknown incident kind {unknown[0]!r}", hint=f"kinds: {', '.join(regimes.KINDS)}"
        )
    _not_future(discovered, "discovered", moment)
    if determined is not None:
        _not_future(determined, "determined", moment)
    IncidentFacts(0, discovered, frozenset(kinds), imminent_risk, determined)  # order checks
    with ws.store.read() as s:
        for name in models:
            repo.model(s, name)  # NotFoundError names close matches
    with ws.store.write() as tx:
        return store.add_incident(
            tx,
            {
                "title": title_,
                "description": _text(description, "description"),
                "kinds": sorted(set(kinds)),
                "models": list(dict.fromkeys(models)),
                "imminent_risk": imminent_risk,
                "internal_use": internal_use,
                "discovered_at": iso(discovered),
                "determined_at": iso(determined) if determined else None,
                "created_by": by,
            },
        )


@dataclass(frozen=True)
class IncidentView:
    incident: Incident
    events: tuple[IncidentEvent, ...]
    facts: IncidentFacts

    @property
    def status(self) -> str:
        if self.facts.resolved_at is not None:
            return "resolved"
        for e in reversed(self.events):
            if e.status:
                return e.status
        return "open"

    @property
    def notes(self) -> list[str]:
        return [f"{e.created_at}: {e.note}" for e in self.events if e.note]


def view(incident: Incident, events: Sequence[IncidentEvent]) -> IncidentView:
    determined = (
        parse_time(incident.determined_at, "determined") if incident.determined_at else None
    )
    resolved = None
    subs = []
    for e in events:
        if e.action == "determine" and e.at:
            determined = parse_time(e.at, "determined")
        elif e.action == "resolve" and e.at:
            resolved = parse_time(e.at, "resolved")
        elif e.action == "submit" and e.at and e.regime and e.obligation and e.sha256:
            subs.append(
                Submission(
                    e.id,
                    e.regime,
                    e.obligation,
                    parse_time(e.at, "submitted"),
                    e.sha256,
                    e.amends,
                    _stored_time(e.created_at),
                )
            )
    facts = IncidentFacts(
        id=incident.id,
        discovered_at=parse_time(incident.discovered_at, "discovered"),
        kinds=frozenset(incident.kinds),
        imminent_risk=incident.imminent_risk,
        determined_at=determined,
        resolved_at=resolved,
        submissions=tuple(subs),
    )
    return IncidentView(incident, tuple(events), facts)


def _checked_view(session: Session, ws: Workspace, incident_id: int, refusing: str) -> IncidentView:
    """Incident ``incident_id`` and its events, after every one of those rows was proven to
    be what the ledger's key signed and none it signed was found missing
    (LedgerIntegrityError "refusing to ``refusing``" otherwise; :mod:`.checks`)."""
    from scaleguard.incidents import checks, store
    from scaleguard.workspace.rowcheck import check_rows

    check_rows(session, ws, checks.incident_scopes(incident_id), refusing)
    return view(store.incident(session, incident_id), store.incident_events(session, incident_id))


def load(ws: Workspace, incident_id: int, *, refusing: str | None = None) -> IncidentView:
    """One incident as its checked rows say (refused, naming ``refusing``, when they do not
    add up to what the ledger's key signed)."""
    with ws.store.read() as s:
        return _checked_view(s, ws, incident_id, refusing or f"show incident {incident_id}")


def load_all(ws: Workspace, *, refusing: str = "list the incidents") -> list[IncidentView]:
    """Every incident, after every incident and event row was checked against the ledger."""
    from scaleguard.incidents import checks, store
    from scaleguard.workspace.rowcheck import check_rows

    with ws.store.read() as s:
        check_rows(s, ws, checks.register_scopes(), refusing)
        events = store.incident_events(s)
        incidents = store.incidents(s)
    by_incident: dict[int, list[IncidentEvent]] = {}
    for e in events:
        by_incident.setdefault(e.incident_id, []).append(e)
    return [view(inc, by_incident.get(inc.id, [])) for inc in incidents]


def _write(
    ws: Workspace,
    incident_id: int,
    build: Callable[[IncidentView], list[dict[str, object]]],
    refusing: str,
) -> list[IncidentEvent]:
    """Check against the incident as it is under the write lock (its rows proven against the
    ledger first), then record; all or nothing."""
    from scaleguard.incidents import store

    with ws.store.write() as tx:
        current = _checked_view(tx, ws, incident_id, f"{refusing} incident {incident_id}")
        rows = build(current)
        return [
            store.add_incident_event(
                tx,
                {
                    "incident_id": incident_id,
                    "status": None,
                    "note": None,
                    "at": None,
                    "regime": None,
                    "obligation": None,
                    "sha256": None,
                    "amends": None,
                    "details": {},
                    **values,
                },
            )
            for values in rows
        ]


def update(
    ws: Workspace,
    incident_id: int,
    *,
    status: str | None = None,
    note: str | None = None,
    determined: datetime | None = None,
    by: str,
    now: datetime | None = None,
) -> list[IncidentEvent]:
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r}", hint=f"use one of: {', '.join(STATUSES)}")
    note_ = _text(note, "note")
    if status is None and note_ is None and determined is None:
        raise InputError("nothing to record", hint="give --status, --note or --determined")
    if determined is not None:
        _not_future(determined, "determined", now or _now())

    def build(current: IncidentView) -> list[dict[str, object]]:
        if current.facts.resolved_at is not None:
            raise InputError(
                f"incident {incident_id} is resolved",
                hint="open a new incident for new events",
            )
        rows: list[dict[str, object]] = []
        if determined is not None:
            if current.facts.determined_at is not None:
                raise InputError(
                    f"incident {incident_id} was already determined at "
                    f"{iso(current.facts.determined_at)}",
                    hint="a determination is recorded once; add a --note to explain a correction",
                )
            IncidentFacts(0, current.facts.discovered_at, frozenset(), False, determined)
            rows.append({"action": "determine", "at": iso(determined), "created_by": by})
        if status is not None or note_ is not None:
            rows.append({"action": "update", "status": status, "note": note_, "created_by": by})
        return rows

    return _write(ws, incident_id, build, "update")


def resolve(
    ws: Workspace,
    incident_id: int,
    *,
    at: datetime | None = None,
    note: str | None = None,
    by: str,
    now: datetime | None = None,
) -> IncidentEvent:
    moment = now or _now()
    when = at or moment
    _not_future(when, "resolved", moment)
    note_ = _text(note, "note")

    def build(current: IncidentView) -> list[dict[str, object]]:
        if current.facts.resolved_at is not None:
            raise InputError(
                f"incident {incident_id} is already resolved ({iso(current.facts.resolved_at)})",
                hint="nothing to do",
            )
        if when < current.facts.discovered_at:
            raise InputError(
                f"resolved {iso(when)} is before discovered {iso(current.facts.discovered_at)}",
                hint="check the resolution time",
            )
        return [
            {
                "action": "resolve",
                "status": "resolved",
                "at": iso(when),
                "note": note_,
                "created_by": by,
            }
        ]

    return _write(ws, incident_id, build, "resolve")[0]


def submit(
    ws: Workspace,
    incident_id: int,
    *,
    regime: str,
    group: str,
    content: bytes,
    at: datetime | None = None,
    amends: int | None = None,
    by: str,
    now: datetime | None = None,
) -> IncidentEvent:
    """Record that a report was sent: its SHA-256 goes into the ledger entry."""
    moment = now or _now()
    (reg,) = regimes.select(regimes.load_regimes(ws.root), [regime])
    groups = sorted({r.group for r in reg.doc.obligations})
    if group not in groups:
        raise InputError(
            f"regime {regime!r} has no duty {group!r}",
            hint=f"duties: {', '.join(groups) or '(none: this regime has no incident reports)'}",
        )
    if not content:
        raise InputError("the report file is empty", hint="submit the report you actually sent")
    when = at or moment
    _not_future(when, "submitted", moment)

    def build(current: IncidentView) -> list[dict[str, object]]:
        if when < current.facts.discovered_at:
            raise InputError(
                f"submitted {iso(when)} is before discovery {iso(current.facts.discovered_at)}",
                hint="check the submission time",
            )
        if amends is not None:
            previous = [s for s in current.facts.submissions if s.id == amends]
            if not previous or previous[0].regime != regime:
                raise InputError(
                    f"--amends {amends} is not a report under {regime} for incident {incident_id}",
                    hint="name the id of the report being amended ('incidents show ID')",
                )
        return [
            {
                "action": "submit",
                "at": iso(when),
                "regime": regime,
                "obligation": group,
                "sha256": hashlib.sha256(content).hexdigest(),
                "amends": amends,
                "details": {"size": len(content)},
                "created_by": by,
            }
        ]

    return _write(ws, incident_id, build, "record a report for")[0]


def clock(
    ws: Workspace, *, as_of: datetime | None = None, include_resolved: bool = False
) -> list[tuple[IncidentView, list[Obligation]]]:
    """Every incident's obligations at ``as_of`` (default now); resolved incidents only while
    something is open, overdue or was late."""
    moment = as_of or _now()
    regs = regimes.load_regimes(ws.root)
    out = []
    for v in load_all(ws, refusing="compute the incident clocks"):
        items = clocks.obligations(v.facts, regs, moment)
        if not include_resolved and v.facts.resolved_at is not None:
            items = [o for o in items if o.status in ("open", "overdue", "pending", "late")]
            if not items:
                continue
        out.append((v, items))
    return out
