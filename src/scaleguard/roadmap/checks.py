"""Whether a new goal or update fits the recorded history: pure checks, no I/O.

A spec that parsed is well-formed on its own; these checks compare it with
what is already recorded (and with today), so the CLI and the import file
report the same problems, each naming the field at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scaleguard.roadmap.grading import closing, criteria_in_force, target_in_force
from scaleguard.roadmap.model import Goal, GoalSpec, Update, UpdateSpec


@dataclass(frozen=True)
class Issue:
    """One reason a goal or update cannot be recorded; ``field`` names the spec field."""

    field: str
    message: str
    hint: str = ""
    #: True when the history forbids it (a closed goal), not the input's shape.
    conflict: bool = False


def goal_issues(spec: GoalSpec, today: date) -> list[Issue]:
    if spec.set_on > today:
        return [
            Issue(
                "set_on",
                f"the goal is dated {spec.set_on}, after today ({today})",
                "a goal is recorded once it is set; leave out the date to use today",
            )
        ]
    return []


def update_issues(goal: Goal, spec: UpdateSpec, today: date) -> list[Issue]:
    """Problems with appending ``spec`` to ``goal`` (which holds every recorded update)."""
    issues: list[Issue] = []
    close = closing(goal)
    if close is not None:
        issues.append(
            Issue(
                "status",
                f"goal {goal.goal!r} was {close.status} on {close.on}; it takes no more updates",
                "a closed goal stays closed; set a new goal for further work",
                conflict=True,
            )
        )
        return issues
    if spec.on < goal.set_on:
        issues.append(
            Issue(
                "on",
                f"the update is dated {spec.on}, before the goal was set ({goal.set_on})",
                f"date it on or after {goal.set_on}",
            )
        )
    elif goal.updates and spec.on < goal.updates[-1].on:
        last = goal.updates[-1].on
        issues.append(
            Issue(
                "on",
                f"dates in the wrong order: the update is dated {spec.on}, "
                f"but the latest update of {goal.goal!r} is dated {last}",
                f"updates are appended in date order; date this one on or after {last}",
            )
        )
    if spec.on > today:
        issues.append(
            Issue(
                "on",
                f"the update is dated {spec.on}, after today ({today})",
                "an update reports what has happened; record it on or after that day",
            )
        )
    if spec.target is not None and spec.target == target_in_force(goal):
        issues.append(
            Issue(
                "target",
                f"the target is already {spec.target}",
                "leave the target out to keep it",
            )
        )
    if spec.criteria is not None and tuple(spec.criteria) == criteria_in_force(goal):
        issues.append(
            Issue(
                "criteria",
                "the criteria are the ones already in force",
                "leave the criteria out to keep them",
            )
        )
    return issues


def as_goal(spec: GoalSpec, *, ledger_index: int = 0, recorded_by: str = "") -> Goal:
    """The goal a spec would record, without updates."""
    return Goal(
        goal=spec.goal,
        area=spec.area,
        title=spec.title,
        description=spec.description,
        target=spec.target,
        owner=spec.owner,
        criteria=tuple(spec.criteria),
        set_on=spec.set_on,
        evidence_url=spec.evidence_url,
        ledger_index=ledger_index,
        recorded_by=recorded_by,
    )


def as_update(spec: UpdateSpec, *, ledger_index: int = 0, recorded_by: str = "") -> Update:
    return Update(
        on=spec.on,
        status=spec.status,
        evidence_url=spec.evidence_url,
        note=spec.note,
        target=spec.target,
        criteria=tuple(spec.criteria) if spec.criteria is not None else None,
        ledger_index=ledger_index,
        recorded_by=recorded_by,
    )


def with_update(goal: Goal, update: Update) -> Goal:
    return goal.model_copy(update={"updates": (*goal.updates, update)})
