"""The legal clocks: a pure function from an incident and the regimes to dated obligations.

All instants are timezone-aware UTC. A clock that starts at *determination*
starts at discovery while no determination is recorded (earlier, so never
late) and says so. Every submitted report stays visible: a late one is
marked late, an amended one lists its amendments; nothing is hidden.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from scaleguard.errors import InputError
from scaleguard.incidents.regimes import ObligationRule, Regime

Status = Literal["open", "overdue", "met", "late", "pending", "not_applicable"]


@dataclass(frozen=True)
class Submission:
    """A report sent under a regime for one duty group (``initial``, ``update``...)."""

    id: int
    regime: str
    group: str
    at: datetime
    sha256: str
    amends: int | None = None
    recorded: datetime | None = None

    def backdated_by(self) -> timedelta | None:
        """How long after its stated send time the report was recorded, past a grace hour."""
        if self.recorded is None or self.recorded - self.at <= BACKDATE_GRACE:
            return None
        return self.recorded - self.at


#: A report recorded more than this after its stated send time is flagged in the output.
BACKDATE_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class IncidentFacts:
    id: int
    discovered_at: datetime
    kinds: frozenset[str]
    imminent_risk: bool = False
    determined_at: datetime | None = None
    resolved_at: datetime | None = None
    submissions: tuple[Submission, ...] = ()

    def __post_init__(self) -> None:
        check_facts(self)


@dataclass(frozen=True)
class Obligation:
    incident_id: int
    regime: str
    group: str
    rule: str
    name: str
    recipient: str
    clock: str
    start: datetime | None
    deadline: datetime | None
    status: Status
    notes: tuple[str, ...] = ()
    submissions: tuple[Submission, ...] = ()
    source_url: str = ""
    section: str = ""
    verified: bool = False
    fields: tuple[str, ...] = field(default=())

    def time_left(self, as_of: datetime) -> float | None:
        """Seconds until the deadline (negative when past), or None without one."""
        if self.deadline is None:
            return None
        return (self.deadline - as_of).total_seconds()


def _aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(f"{name} has no timezone", hint="give times with a zone, e.g. ...Z")


def check_facts(facts: IncidentFacts) -> None:
    """The impossible orderings: each is a clear error, never a silent fix."""
    _aware("discovered", facts.discovered_at)
    if facts.determined_at is not None:
        _aware("determined", facts.determined_at)
        if facts.determined_at < facts.discovered_at:
            raise InputError(
                f"determined {iso(facts.determined_at)} is before discovered "
                f"{iso(facts.discovered_at)}",
                hint="an incident cannot be determined before it is discovered; check both times",
            )
    if facts.resolved_at is not None:
        _aware("resolved", facts.resolved_at)
        if facts.resolved_at < facts.discovered_at:
            raise InputError(
                f"resolved {iso(facts.resolved_at)} is before discovered "
                f"{iso(facts.discovered_at)}",
                hint="check the resolution time",
            )
    for s in facts.submissions:
        _aware("a report's time", s.at)
        if s.at < facts.discovered_at:
            raise InputError(
                f"report {s.id} is dated {iso(s.at)}, before discovery {iso(facts.discovered_at)}",
                hint="a report cannot precede the incident's discovery",
            )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def obligations(
    facts: IncidentFacts, regimes: Sequence[Regime], as_of: datetime
) -> list[Obligation]:
    """Every duty each regime puts on this incident, with its deadline and status at ``as_of``."""
    _aware("as-of", as_of)
    facts = as_known_at(facts, as_of)
    out: list[Obligation] = []
    for regime in regimes:
        out.extend(_regime_obligations(facts, regime, as_of))
    return out


def as_known_at(facts: IncidentFacts, as_of: datetime) -> IncidentFacts:
    """The incident as it stood at ``as_of``: later determinations, resolutions and reports
    are left out, so a past ``as_of`` shows what was then due, open or overdue."""
    return replace(
        facts,
        determined_at=facts.determined_at
        if facts.determined_at is not None and facts.determined_at <= as_of
        else None,
        resolved_at=facts.resolved_at
        if facts.resolved_at is not None and facts.resolved_at <= as_of
        else None,
        submissions=tuple(s for s in facts.submissions if s.at <= as_of),
    )


def _regime_obligations(facts: IncidentFacts, regime: Regime, as_of: datetime) -> list[Obligation]:
    meta = regime.doc.regime
    if not regime.doc.obligations:
        return []
    first = regime.doc.obligations[0]
    inapplicable = Obligation(
        incident_id=facts.id,
        regime=regime.id,
        group="-",
        rule="-",
        name=meta.title,
        recipient="-",
        clock="-",
        start=None,
        deadline=None,
        status="not_applicable",
        source_url=regime.url(first.source),
        section=first.source.section,
        verified=meta.verified,
    )
    if facts.discovered_at.date() < meta.in_force_from:
        note = f"not in force at discovery: applies from {meta.in_force_from}"
        return [replace(inapplicable, notes=(note,))]
    classes = regime.classes_for(facts.kinds)
    if not classes:
        note = "the recorded kinds match none of this regime's incident classes"
        return [replace(inapplicable, notes=(note,))]
    class_ids = {c.id for c in classes}
    groups: dict[str, list[ObligationRule]] = {}
    for rule in regime.doc.obligations:
        if rule.classes and not class_ids.intersection(rule.classes):
            continue
        if rule.imminent_risk is not None and rule.imminent_risk != facts.imminent_risk:
            continue
        groups.setdefault(rule.group, []).append(rule)
    submitted = sorted(
        (s for s in facts.submissions if s.regime == regime.id), key=lambda s: (s.at, s.id)
    )
    out = []
    for group, rules in groups.items():
        out.append(_group_obligation(facts, regime, group, rules, submitted, as_of))
    return out


def _start(facts: IncidentFacts, rule: ObligationRule) -> tuple[datetime | None, list[str]]:
    if rule.clock == "discovery":
        return facts.discovered_at, []
    if rule.clock == "determination":
        if facts.determined_at is None:
            return facts.discovered_at, [
                "no determination recorded: the clock runs from discovery (record --determined)"
            ]
        return facts.determined_at, []
    if rule.clock == "resolution":
        if facts.resolved_at is None:
            return None, ["starts when the incident is resolved"]
        return facts.resolved_at, []
    return None, []  # previous_report is handled by the caller


def _template(
    facts: IncidentFacts,
    regime: Regime,
    group: str,
    rule: ObligationRule,
    mine: tuple[Submission, ...],
    clock: str,
) -> Obligation:
    return Obligation(
        incident_id=facts.id,
        regime=regime.id,
        group=group,
        rule=rule.id,
        name=rule.name,
        recipient=rule.recipient,
        clock=clock,
        start=None,
        deadline=None,
        status="pending",
        submissions=mine,
        source_url=regime.url(rule.source),
        section=rule.source.section,
        verified=regime.verified(rule.source),
        fields=tuple(rule.fields),
    )


def _group_obligation(
    facts: IncidentFacts,
    regime: Regime,
    group: str,
    rules: list[ObligationRule],
    submitted: list[Submission],
    as_of: datetime,
) -> Obligation:
    mine = tuple(s for s in submitted if s.group == group)
    if rules[0].repeat:
        return _repeating(facts, regime, group, rules[0], submitted, mine, as_of)
    best: tuple[datetime, ObligationRule, list[str]] | None = None
    pending_notes: list[str] = []
    for rule in rules:
        start, notes = _start(facts, rule)
        if start is None:
            pending_notes = notes
            continue
        deadline = rule.within.add(start)
        if best is None or deadline < best[0]:
            best = (deadline, rule, notes)
    rule = best[1] if best else rules[0]
    common = _template(facts, regime, group, rule, mine, f"{rule.clock} + {rule.within}")
    if best is None:
        return replace(common, notes=tuple(pending_notes))
    deadline, rule, notes = best
    start, _ = _start(facts, rule)
    notes = list(notes)
    if len(rules) > 1:
        notes.append("earliest of: " + ", ".join(f"{r.id} ({r.within})" for r in rules))
    notes.extend(_backdated(mine))
    originals = [s for s in mine if s.amends is None]
    amendments = [s for s in mine if s.amends is not None]
    if amendments:
        notes.append(f"{len(amendments)} amended report(s) recorded")
    status: Status
    if originals:
        first = originals[0]
        if first.at <= deadline:
            status = "met"
        else:
            status = "late"
            notes.append(f"submitted {iso(first.at)}, {_late_by(first.at - deadline)} late")
    else:
        status = "overdue" if as_of > deadline else "open"
    return replace(common, start=start, deadline=deadline, status=status, notes=tuple(notes))


def _repeating(
    facts: IncidentFacts,
    regime: Regime,
    group: str,
    rule: ObligationRule,
    submitted: list[Submission],
    mine: tuple[Submission, ...],
    as_of: datetime,
) -> Obligation:
    common = _template(facts, regime, group, rule, mine, f"previous report + {rule.within}")
    if not submitted:
        return replace(common, notes=("starts with the first report under this regime",))
    notes: list[str] = list(_backdated(mine))
    times = [s.at for s in submitted]
    for before, after in itertools.pairwise(times):
        if after > rule.within.add(before):
            notes.append(f"gap {iso(before)} -> {iso(after)} exceeded {rule.within}: late")
    last = times[-1]
    deadline = rule.within.add(last)
    status: Status
    if facts.resolved_at is not None and facts.resolved_at <= deadline:
        status = "late" if any("late" in n for n in notes) else "met"
        notes.append("no further update due: resolved")
    else:
        if any("late" in n for n in notes):
            notes.append("an earlier update was late")
        status = "overdue" if as_of > deadline else "open"
    return replace(common, start=last, deadline=deadline, status=status, notes=tuple(notes))


def _backdated(subs: Sequence[Submission]) -> list[str]:
    out = []
    for s in subs:
        delay = s.backdated_by()
        if delay is not None:
            out.append(
                f"report {s.id} says it was sent {iso(s.at)} but was recorded "
                f"{_late_by(delay)} later"
            )
    return out


def _late_by(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours // 24}d {hours % 24}h {rest // 60}m"
