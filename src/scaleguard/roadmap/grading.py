"""Grading the roadmap and comparing two revisions of it: pure functions, no I/O.

The rules are documented, with a table, in docs/roadmap.md. In short, a goal
is graded against its *deadline*: the earliest target it has ever had, so
moving a target later never turns a late goal into an on-time one (the move
is flagged as a less ambitious revision instead). Only what is dated on or
before the as-of date counts, so adding a later update never changes an
earlier grade.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from scaleguard.roadmap.model import (
    AREA_LABELS,
    AREAS,
    CLOSING,
    DIFF_KINDS,
    GRADE_LABELS,
    GRADES,
    AreaSummary,
    DiffEntry,
    DiffKind,
    Goal,
    GoalCard,
    Grade,
    GradingPolicy,
    HistoryEntry,
    ReportCard,
    Revision,
    RoadmapDiff,
    Status,
    Update,
)

DEFAULT_POLICY = GradingPolicy()


# -- a goal's state -------------------------------------------------------------


def visible(goal: Goal, as_of: date) -> Goal | None:
    """The goal as its own dates describe it at the end of ``as_of``; None if not yet set."""
    if goal.set_on > as_of:
        return None
    kept = tuple(u for u in goal.updates if u.on <= as_of)
    if len(kept) == len(goal.updates):
        return goal
    return goal.model_copy(update={"updates": kept})


def recorded_before(goal: Goal, index: int) -> Goal | None:
    """The goal as the ledger held it before position ``index``; None if not yet recorded."""
    if goal.ledger_index >= index:
        return None
    kept = tuple(u for u in goal.updates if u.ledger_index < index)
    return goal.model_copy(update={"updates": kept})


def target_in_force(goal: Goal) -> date:
    """The latest target set: the original unless an update moved it."""
    current = goal.target
    for u in goal.updates:
        if u.target is not None:
            current = u.target
    return current


def deadline(goal: Goal) -> date:
    """The earliest target the goal has ever had: what it is graded against."""
    return min([goal.target, *(u.target for u in goal.updates if u.target is not None)])


def criteria_in_force(goal: Goal) -> tuple[str, ...]:
    current = goal.criteria
    for u in goal.updates:
        if u.criteria is not None:
            current = u.criteria
    return current


def closing(goal: Goal) -> Update | None:
    """The update that achieved or withdrew the goal, if any."""
    for u in goal.updates:
        if u.status in CLOSING:
            return u
    return None


def last_report_on(goal: Goal) -> date:
    """The most recent date anyone said anything about the goal (its setting counts)."""
    return goal.updates[-1].on if goal.updates else goal.set_on


def _quote(items: Iterable[str]) -> str:
    return "; ".join(f"'{c}'" for c in items)


def revisions(goal: Goal) -> tuple[Revision, ...]:
    """Every update that moved the target later or removed a criterion, in order."""
    out: list[Revision] = []
    target, criteria = goal.target, goal.criteria
    for u in goal.updates:
        if u.target is not None:
            if u.target > target:
                days = (u.target - target).days
                out.append(
                    Revision(
                        on=u.on,
                        kind="delayed",
                        summary=f"target moved later, from {target} to {u.target} (+{days} days)",
                        previous_target=target,
                        new_target=u.target,
                        ledger_index=u.ledger_index,
                    )
                )
            target = u.target
        if u.criteria is not None:
            removed = tuple(c for c in criteria if c not in u.criteria)
            added = tuple(c for c in u.criteria if c not in criteria)
            if removed:
                summary = f"criteria narrowed ({len(criteria)} to {len(u.criteria)}): "
                summary += f"removed {_quote(removed)}"
                if added:
                    summary += f"; added {_quote(added)}"
                out.append(
                    Revision(
                        on=u.on,
                        kind="narrowed",
                        summary=summary,
                        removed_criteria=removed,
                        added_criteria=added,
                        ledger_index=u.ledger_index,
                    )
                )
            criteria = u.criteria
    return tuple(out)


# -- grading ----------------------------------------------------------------------


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def grade_of(goal: Goal, as_of: date, policy: GradingPolicy = DEFAULT_POLICY) -> tuple[Grade, str]:
    """The grade of a goal as of a date, and the reason in one sentence.

    ``goal`` must already be restricted to what is visible as of the date
    (see :func:`visible`); the rules are applied in the documented order.
    """
    due = deadline(goal)
    close = closing(goal)
    if close is not None and close.status == "achieved":
        if close.on <= due:
            return "achieved_on_time", f"achieved on {close.on}, on or before its deadline {due}"
        late = (close.on - due).days
        return "achieved_late", f"achieved on {close.on}, {_days(late)} after its deadline {due}"
    if close is not None:
        if close.on > due:
            return "missed", (f"withdrawn on {close.on}, after its deadline {due} had passed unmet")
        return "withdrawn", f"withdrawn on {close.on}, before its deadline {due}"
    if as_of > due:
        return "missed", f"its deadline {due} passed {_days((as_of - due).days)} ago unmet"
    latest = goal.updates[-1] if goal.updates else None
    if latest is not None and latest.status in ("at_risk", "blocked"):
        said = latest.status.replace("_", " ")
        return "at_risk", f"the latest update ({latest.on}) says {said}"
    quiet = (as_of - last_report_on(goal)).days
    left = (due - as_of).days
    if left <= policy.due_window_days and quiet > policy.quiet_days:
        return "at_risk", (
            f"due in {_days(left)} ({due}) with no report for {_days(quiet)} "
            f"(more than {policy.quiet_days})"
        )
    if quiet > policy.stale_days:
        return "at_risk", f"no report for {_days(quiet)} (more than {policy.stale_days})"
    return "on_track", f"open, due {due} ({_days(left)} left), last report {last_report_on(goal)}"


def _status_text(status: Status) -> str:
    return status.replace("_", " ")


def history(goal: Goal) -> tuple[HistoryEntry, ...]:
    """The goal's timeline: when it was set, then each update with what it changed."""
    entries = [
        HistoryEntry(
            on=goal.set_on,
            event="set",
            summary=f"set with target {goal.target}"
            + (f" and {len(goal.criteria)} criteria" if goal.criteria else ""),
            evidence_url=goal.evidence_url,
            ledger_index=goal.ledger_index,
        )
    ]
    target, criteria = goal.target, goal.criteria
    for u in goal.updates:
        parts = [_status_text(u.status)]
        if u.target is not None:
            direction = "later" if u.target > target else "earlier"
            parts.append(f"target moved {direction}: {target} to {u.target}")
            target = u.target
        if u.criteria is not None:
            removed = [c for c in criteria if c not in u.criteria]
            added = [c for c in u.criteria if c not in criteria]
            change = []
            if removed:
                change.append(f"removed {_quote(removed)}")
            if added:
                change.append(f"added {_quote(added)}")
            parts.append("criteria " + ", ".join(change or ["restated"]))
            criteria = u.criteria
        entries.append(
            HistoryEntry(
                on=u.on,
                event="update",
                status=u.status,
                summary="; ".join(parts),
                note=u.note,
                evidence_url=u.evidence_url,
                ledger_index=u.ledger_index,
            )
        )
    return tuple(entries)


def goal_card(goal: Goal, as_of: date, policy: GradingPolicy = DEFAULT_POLICY) -> GoalCard | None:
    """The goal graded as of ``as_of``; None when it was set after that date."""
    seen = visible(goal, as_of)
    if seen is None:
        return None
    grade, reason = grade_of(seen, as_of, policy)
    close = closing(seen)
    revs = revisions(seen)
    return GoalCard(
        goal=seen.goal,
        area=seen.area,
        title=seen.title,
        description=seen.description,
        owner=seen.owner,
        set_on=seen.set_on,
        original_target=seen.target,
        target=target_in_force(seen),
        deadline=deadline(seen),
        criteria=criteria_in_force(seen),
        original_criteria=seen.criteria,
        evidence_url=seen.evidence_url,
        grade=grade,
        grade_label=GRADE_LABELS[grade],
        reason=reason,
        latest_status=seen.updates[-1].status if seen.updates else None,
        last_report_on=last_report_on(seen),
        closed_on=close.on if close else None,
        revised_less_ambitiously=bool(revs),
        revisions=revs,
        history=history(seen),
    )


def _area_order(card: GoalCard) -> tuple[int, str]:
    return (AREAS.index(card.area), card.goal)


def _counts(cards: Iterable[GoalCard]) -> dict[Grade, int]:
    counts: dict[Grade, int] = dict.fromkeys(GRADES, 0)
    for c in cards:
        counts[c.grade] += 1
    return counts


def report_card(
    goals: Sequence[Goal], as_of: date, policy: GradingPolicy = DEFAULT_POLICY
) -> ReportCard:
    """Every goal set by ``as_of``, graded, with per-area counts: the public report card.

    Pure: the same goals, date and policy always give the same card, in a
    stable order (area, then goal id).
    """
    cards = sorted(
        (c for c in (goal_card(g, as_of, policy) for g in goals) if c is not None),
        key=_area_order,
    )
    areas = tuple(
        AreaSummary(
            area=area,
            label=AREA_LABELS[area],
            counts=_counts(c for c in cards if c.area == area),
            total=sum(1 for c in cards if c.area == area),
            revised_less_ambitiously=sum(
                1 for c in cards if c.area == area and c.revised_less_ambitiously
            ),
        )
        for area in AREAS
    )
    return ReportCard(
        as_of=as_of,
        policy=policy,
        areas=areas,
        totals=_counts(cards),
        total=len(cards),
        revised_less_ambitiously=sum(1 for c in cards if c.revised_less_ambitiously),
        goals=tuple(cards),
        not_yet_set=len(goals) - len(cards),
    )


# -- revisions of the roadmap and their difference ------------------------------


def roadmap_on(goals: Sequence[Goal], day: date) -> list[Goal]:
    """The roadmap as its own dates state it at the end of ``day``."""
    return [g for g in (visible(goal, day) for goal in goals) if g is not None]


def roadmap_before(goals: Sequence[Goal], index: int) -> list[Goal]:
    """The roadmap as recorded before ledger position ``index``."""
    return [g for g in (recorded_before(goal, index) for goal in goals) if g is not None]


def diff_roadmaps(
    a: Sequence[Goal], b: Sequence[Goal], *, a_label: str, b_label: str
) -> RoadmapDiff:
    """What changed from roadmap A to roadmap B, each change with its reason.

    * added: in B, not in A;
    * dropped: in A and not withdrawn there, but absent from B or withdrawn in B;
    * delayed: the target in force is later in B than in A;
    * narrowed: a criterion in force in A is gone in B;
    * achieved: achieved in B, not in A.
    """
    in_a = {g.goal: g for g in a}
    in_b = {g.goal: g for g in b}
    entries: list[DiffEntry] = []

    def add(kind: DiffKind, goal: Goal, reason: str) -> None:
        entries.append(
            DiffEntry(kind=kind, goal=goal.goal, area=goal.area, title=goal.title, reason=reason)
        )

    for gid in sorted(set(in_a) | set(in_b)):
        old, new = in_a.get(gid), in_b.get(gid)
        if old is None and new is not None:
            add("added", new, f"set on {new.set_on} with target {new.target}")
        old_close = closing(old) if old is not None else None
        new_close = closing(new) if new is not None else None
        if old is not None and (old_close is None or old_close.status != "withdrawn"):
            if new is None:
                add("dropped", old, f"in {a_label} (set on {old.set_on}) but absent from {b_label}")
            elif new_close is not None and new_close.status == "withdrawn":
                why = f": {new_close.note}" if new_close.note else ""
                add("dropped", new, f"withdrawn on {new_close.on}{why}")
        if old is not None and new is not None:
            before, after = target_in_force(old), target_in_force(new)
            if after > before:
                add(
                    "delayed",
                    new,
                    f"target moved from {before} to {after} (+{_days((after - before).days)})",
                )
            removed = [c for c in criteria_in_force(old) if c not in criteria_in_force(new)]
            if removed:
                add("narrowed", new, f"criteria removed: {_quote(removed)}")
        achieved_before = old_close is not None and old_close.status == "achieved"
        achieved_now = new_close is not None and new_close.status == "achieved"
        if new is not None and new_close is not None and achieved_now and not achieved_before:
            due = deadline(new)
            when = "on time" if new_close.on <= due else "late"
            add("achieved", new, f"achieved on {new_close.on} ({when}; deadline {due})")
    order = {k: i for i, k in enumerate(DIFF_KINDS)}
    entries.sort(key=lambda e: (order[e.kind], AREAS.index(e.area), e.goal))
    return RoadmapDiff(a=a_label, b=b_label, entries=tuple(entries))
