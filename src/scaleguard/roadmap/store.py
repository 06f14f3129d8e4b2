"""Recording goals and updates, each with its ledger entry, and reading them back.

Every write checks the new record against the recorded history inside the
same write transaction (so two writers cannot both append "the latest"
update) and raises before anything is inserted; a record and its ledger
entry are created together by :mod:`scaleguard.store.recording`.

Every read that grades, lists or shows goals, and every write, first proves
the rows it reads against the signed ledger in the same session or transaction
(:mod:`scaleguard.roadmap.rowcheck`); :func:`read_goals` and :func:`find_goal`
read without a check, for callers that made it.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from scaleguard.errors import ConflictError, InputError, NotFoundError, Problem
from scaleguard.roadmap.checks import Issue, as_goal, as_update, goal_issues, update_issues
from scaleguard.roadmap.model import Goal, GoalSpec, Update, UpdateSpec
from scaleguard.roadmap.rowcheck import goal_scopes, roadmap_scopes
from scaleguard.store import Tx, repo
from scaleguard.store.recording import NewRecord, create_rows, creator
from scaleguard.store.tables_roadmap import RoadmapGoalRow, RoadmapUpdateRow
from scaleguard.workspace.rowcheck import check_rows
from scaleguard.workspace.workspace import Workspace, current_user

GOAL_KIND = "roadmap-goal"
UPDATE_KIND = "roadmap-update"


@dataclass(frozen=True)
class GoalRecord:
    """A ``roadmap_goals`` row."""

    id: int
    goal: str
    area: str
    title: str
    description: str
    target: date
    owner: str
    criteria: tuple[str, ...]
    set_on: date
    evidence_url: str | None
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class UpdateRecord:
    """A ``roadmap_updates`` row."""

    id: int
    goal: str
    dated_on: date
    status: str
    evidence_url: str
    note: str | None
    target: date | None
    criteria: tuple[str, ...] | None
    created_at: str
    created_by: str
    ledger_index: int


def today_utc() -> date:
    return datetime.now(UTC).date()


def actor(by: str | None) -> str:
    who = (by if by is not None else current_user()).strip()
    if not who:
        raise InputError("--by must name who is recording this", hint="e.g. --by alice")
    return who


# -- reading ----------------------------------------------------------------------


def _update(row: RoadmapUpdateRow) -> Update:
    return Update(
        on=row.dated_on,
        status=row.status,
        evidence_url=row.evidence_url,
        note=row.note,
        target=row.target,
        criteria=tuple(row.criteria) if row.criteria is not None else None,
        ledger_index=row.ledger_index,
        recorded_by=row.created_by,
    )


def _goal(row: RoadmapGoalRow, updates: list[Update]) -> Goal:
    return Goal(
        goal=row.goal,
        area=row.area,
        title=row.title,
        description=row.description,
        target=row.target,
        owner=row.owner,
        criteria=tuple(row.criteria),
        set_on=row.set_on,
        evidence_url=row.evidence_url,
        ledger_index=row.ledger_index,
        recorded_by=row.created_by,
        updates=tuple(updates),
    )


def read_goals(session: Session, goal: str | None = None) -> list[Goal]:
    """Every recorded goal (or one), with its updates in the order they were appended
    (unchecked: :func:`checked_goals` proves the rows first)."""
    goals_q = select(RoadmapGoalRow).order_by(RoadmapGoalRow.ledger_index)
    updates_q = select(RoadmapUpdateRow).order_by(RoadmapUpdateRow.ledger_index)
    if goal is not None:
        goals_q = goals_q.where(RoadmapGoalRow.goal == goal)
        updates_q = updates_q.where(RoadmapUpdateRow.goal == goal)
    by_goal: dict[str, list[Update]] = defaultdict(list)
    for row in session.scalars(updates_q):
        by_goal[row.goal].append(_update(row))
    return [_goal(row, by_goal[row.goal]) for row in session.scalars(goals_q)]


def checked_goals(
    session: Session, ws: Workspace, refusing: str, goal: str | None = None
) -> list[Goal]:
    """:func:`read_goals` after every row it reads (every goal and update, or one goal's)
    was proven to be what the ledger's key signed, none missing; LedgerIntegrityError
    "refusing to ``refusing``: ..." (HTTP status 500) otherwise."""
    check_rows(session, ws, roadmap_scopes() if goal is None else goal_scopes(goal), refusing)
    return read_goals(session, goal)


def goal_ids(session: Session) -> list[str]:
    return list(session.scalars(select(RoadmapGoalRow.goal).order_by(RoadmapGoalRow.goal)))


def find_goal(session: Session, goal: str) -> Goal:
    """Goal ``goal`` (unchecked); NotFoundError with the closest id when there is none."""
    found = read_goals(session, goal)
    if found:
        return found[0]
    known = goal_ids(session)
    close = difflib.get_close_matches(goal, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    hint += "see 'scaleguard roadmap list'" if known else "add one with 'scaleguard roadmap add'"
    raise NotFoundError(f"no roadmap goal {goal!r}", hint=hint)


# -- writing ------------------------------------------------------------------------


def new_goal(spec: GoalSpec, who: str) -> NewRecord:
    """The goal's record, to create alone (:func:`insert_goal`) or in a batch."""
    values = {
        "goal": spec.goal,
        "area": spec.area,
        "title": spec.title,
        "description": spec.description,
        "target": spec.target,
        "owner": spec.owner,
        "criteria": list(spec.criteria),
        "set_on": spec.set_on,
        "evidence_url": spec.evidence_url,
        "created_by": who,
    }
    return NewRecord(RoadmapGoalRow, GOAL_KIND, spec.goal, values)


def new_update(spec: UpdateSpec, who: str) -> NewRecord:
    """The update's record, to create alone (:func:`insert_update`) or in a batch."""
    values = {
        "goal": spec.goal,
        "dated_on": spec.on,
        "status": spec.status,
        "evidence_url": spec.evidence_url,
        "note": spec.note,
        "target": spec.target,
        "criteria": list(spec.criteria) if spec.criteria is not None else None,
        "created_by": who,
    }
    return NewRecord(RoadmapUpdateRow, UPDATE_KIND, spec.goal, values)


def insert_goal(tx: Tx, spec: GoalSpec, who: str) -> Goal:
    record = create_goal(tx, spec, who)
    return as_goal(spec, ledger_index=record.ledger_index, recorded_by=who)


def insert_update(tx: Tx, spec: UpdateSpec, who: str) -> Update:
    record = create_update(tx, spec, who)
    return as_update(spec, ledger_index=record.ledger_index, recorded_by=who)


create_goal = creator(new_goal, GoalRecord)
create_update = creator(new_update, UpdateRecord)


def _problems(issues: list[Issue]) -> list[Problem]:
    return [Problem(i.message, hint=i.hint, path=f"$.{i.field}") for i in issues]


def _refuse(what: str, issues: list[Issue]) -> None:
    if not issues:
        return
    cls = ConflictError if any(i.conflict for i in issues) else InputError
    first = issues[0]
    raise cls(
        f"cannot record {what}: {first.message}",
        hint=first.hint,
        problems=_problems(issues[1:]),
    )


def add_goal(
    ws: Workspace, spec: GoalSpec, *, by: str | None = None, today: date | None = None
) -> Goal:
    """Record a new goal; ConflictError if its id is taken (goals are never edited)."""
    who = actor(by)
    _refuse(f"goal {spec.goal!r}", goal_issues(spec, today or today_utc()))
    with ws.store.write() as tx:
        existing = checked_goals(tx, ws, f"add roadmap goal {spec.goal!r}", spec.goal)
        if existing:
            raise ConflictError(
                f"goal {spec.goal!r} is already on the roadmap "
                f"(ledger entry {existing[0].ledger_index})",
                hint="goals are never edited: record a change with 'scaleguard roadmap update', "
                "or choose a new id",
            )
        return insert_goal(tx, spec, who)


def add_update(
    ws: Workspace, spec: UpdateSpec, *, by: str | None = None, today: date | None = None
) -> Goal:
    """Append an update to a goal and return the goal with it; nothing is written on error."""
    who = actor(by)
    with ws.store.write() as tx:
        check_rows(tx, ws, goal_scopes(spec.goal), f"update roadmap goal {spec.goal!r}")
        goal = find_goal(tx, spec.goal)
        _refuse(f"the update of {spec.goal!r}", update_issues(goal, spec, today or today_utc()))
        update = insert_update(tx, spec, who)
    return goal.model_copy(update={"updates": (*goal.updates, update)})


def load_roadmap(ws: Workspace, *, refusing: str = "grade the roadmap") -> list[Goal]:
    """Every goal with its updates, read after every roadmap row was proven against the
    signed ledger (LedgerIntegrityError "refusing to ``refusing``: ..." otherwise)."""
    with ws.store.read() as session:
        return checked_goals(session, ws, refusing)


def load_goal(ws: Workspace, goal: str) -> Goal:
    """One goal with its updates, its rows proven first (NotFoundError if never recorded)."""
    with ws.store.read() as session:
        check_rows(session, ws, goal_scopes(goal), f"show roadmap goal {goal!r}")
        return find_goal(session, goal)


def load_history(ws: Workspace) -> tuple[list[Goal], int]:
    """Every goal with its updates and the ledger's size, from one snapshot whose roadmap
    rows were proven: what a revision (a ledger position, a date) is cut from."""
    with ws.store.read() as session:
        goals = checked_goals(session, ws, "compare roadmap revisions")
        return goals, repo.ledger_size(session)


def import_file(
    ws: Workspace, path: Path, *, by: str | None = None, today: date | None = None
) -> ImportSummary:
    """Import a roadmap file: every goal and update in it, or nothing.

    Records are appended in date order (a goal before its updates), so a
    ledger position in the imported stretch shows the roadmap as it stood.
    """
    from scaleguard.roadmap.importer import parse_roadmap_file, plan_import

    who = actor(by)
    parsed = parse_roadmap_file(path)
    with ws.store.write() as tx:
        recorded = checked_goals(tx, ws, f"import {path.name}")
        plan = plan_import(parsed, recorded, today or today_utc())
        events: list[tuple[date, int, GoalSpec | UpdateSpec]] = []
        for spec in plan.new_goals:
            events.append((spec.set_on, len(events), spec))
        for update in plan.new_updates:
            events.append((update.on, len(events), update))
        create_rows(  # one batch, in date order
            tx,
            [
                new_goal(item, who) if isinstance(item, GoalSpec) else new_update(item, who)
                for _, _, item in sorted(events, key=lambda e: (e[0], e[1]))
            ],
        )
    return ImportSummary(
        goals_added=tuple(g.goal for g in plan.new_goals),
        goals_unchanged=plan.unchanged_goals,
        updates_added=len(plan.new_updates),
        updates_unchanged=plan.unchanged_updates,
    )


@dataclass(frozen=True)
class ImportSummary:
    """What an import recorded: new goals and updates, and what was already there."""

    goals_added: tuple[str, ...]
    goals_unchanged: tuple[str, ...]
    updates_added: int
    updates_unchanged: int

    def as_json(self) -> dict[str, object]:
        return {
            "ok": True,
            "goals_added": list(self.goals_added),
            "goals_unchanged": list(self.goals_unchanged),
            "updates_added": self.updates_added,
            "updates_unchanged": self.updates_unchanged,
        }
