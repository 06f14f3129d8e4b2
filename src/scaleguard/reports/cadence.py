"""When the next Risk Report is due: pure rules over the framework's cadence.

The framework's cadence for the artifact ``risk_report`` gives ``interval``
(the longest allowed gap, e.g. P6M) and optionally ``min_interval`` (the
shortest, e.g. P3M). The clock starts at the last report's first public
publication or, before any, at the framework's effective date. As of a day:

* ``ok``      - before ``start + min_interval`` (or, without one, before the due date);
* ``due``     - from ``start + min_interval`` up to and including ``start + interval``:
  a report should be published now (a warning);
* ``overdue`` - after ``start + interval`` (a failed check).

The coverage-date rule (RSP 3.4 §3.1: a report describes the state of
affairs as of a coverage date at most 30 days before publication) is not a
field of the framework format, so it is kept here as data, with its source,
and applies to the listed framework from the listed version on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from scaleguard.framework.durations import Duration
from scaleguard.framework.model import Cadence, FrameworkDocument

ARTIFACT = "risk_report"
State = Literal["ok", "due", "overdue", "none"]


@dataclass(frozen=True)
class CoverageRule:
    framework: str
    since_version: tuple[int, ...]
    within: Duration
    source: str


#: Coverage-date rules, by framework id and the first version that has them.
COVERAGE_RULES: tuple[CoverageRule, ...] = (
    CoverageRule(
        framework="anthropic-rsp",
        since_version=(3, 4),
        within=Duration(days=30),
        source="RSP 3.4 §3.1 and its changelog: the coverage date lies at most 30 days "
        "before publication",
    ),
)


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def coverage_rule(doc: FrameworkDocument) -> CoverageRule | None:
    """The coverage-date rule the framework version carries, if any."""
    version = _version(doc.framework.version)
    for rule in COVERAGE_RULES:
        if rule.framework == doc.framework.id and version >= rule.since_version:
            return rule
    return None


def coverage_problem(doc: FrameworkDocument, coverage: date, published: date) -> str | None:
    """Why publishing on ``published`` breaks the coverage rule, or None if it does not."""
    if coverage > published:
        return (
            f"the coverage date {coverage.isoformat()} is after the publication date "
            f"{published.isoformat()}"
        )
    rule = coverage_rule(doc)
    if rule is None:
        return None
    latest = rule.within.add_to(coverage)
    if published > latest:
        return (
            f"the coverage date {coverage.isoformat()} is {(published - coverage).days} days "
            f"before publication on {published.isoformat()}; {doc.ref} allows at most "
            f"{rule.within} ({rule.source})"
        )
    return None


def report_cadence(doc: FrameworkDocument) -> Cadence | None:
    return next((c for c in doc.cadences if c.artifact == ARTIFACT and c.interval), None)


@dataclass(frozen=True)
class CadenceStatus:
    framework_ref: str
    as_of: date
    state: State
    cadence_id: str | None = None
    interval: str | None = None
    min_interval: str | None = None
    last_report_id: int | None = None
    last_period: str | None = None
    last_published: date | None = None
    clock_start: date | None = None
    clock_origin: str | None = None
    window_opens: date | None = None
    due_by: date | None = None
    message: str = ""


def cadence_status(
    doc: FrameworkDocument,
    as_of: date,
    *,
    last_report_id: int | None = None,
    last_period: str | None = None,
    last_published: date | None = None,
) -> CadenceStatus:
    """Last report, when the next opens and is due, and the state as of ``as_of``."""
    cadence = report_cadence(doc)
    if cadence is None or cadence.interval is None:
        return CadenceStatus(
            framework_ref=doc.ref,
            as_of=as_of,
            state="none",
            message=f"{doc.ref} sets no Risk Report cadence (no cadence for {ARTIFACT!r} "
            "with an interval)",
        )
    if last_published is not None:
        start, origin = last_published, f"report #{last_report_id} was published"
    else:
        start = doc.framework.effective_date
        origin = f"{doc.ref} took effect (no report published yet)"
    due_by = cadence.interval.add_to(start)
    opens = cadence.min_interval.add_to(start) if cadence.min_interval else due_by
    if as_of > due_by:
        state: State = "overdue"
        message = (
            f"a Risk Report is overdue: due by {due_by.isoformat()} ({cadence.interval} after "
            f"{start.isoformat()}, when {origin}); {(as_of - due_by).days} day(s) late"
        )
    elif as_of >= opens:
        state = "due"
        message = (
            f"a Risk Report is due: publish one by {due_by.isoformat()} "
            f"({(due_by - as_of).days} day(s) left)"
        )
    else:
        state = "ok"
        message = (
            f"no Risk Report is due yet: the window opens on {opens.isoformat()} and closes "
            f"on {due_by.isoformat()}"
        )
    return CadenceStatus(
        framework_ref=doc.ref,
        as_of=as_of,
        state=state,
        cadence_id=cadence.id,
        interval=str(cadence.interval),
        min_interval=str(cadence.min_interval) if cadence.min_interval else None,
        last_report_id=last_report_id,
        last_period=last_period,
        last_published=last_published,
        clock_start=start,
        clock_origin=origin,
        window_opens=opens,
        due_by=due_by,
        message=message,
    )
