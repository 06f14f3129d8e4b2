"""Roadmap files (``scaleguard roadmap import``): goals and their dated updates, all or nothing.

The file shape::

    goals:
      - id: sec-isolated-enclave      # lower case letters, digits, '.', '_' or '-'
        area: security                # security | safeguards | alignment | policy
        title: Isolated research enclave
        description: A measurable statement of the goal.
        owner: Security engineering
        set_on: 2026-01-20
        target: 2026-06-30
        criteria:                     # optional: how success is measured
          - Enclave network has no route to the internet
        evidence: https://lab.example/roadmap/2026-01   # optional
        updates:                      # optional, oldest first
          - on: 2026-04-01
            status: on_track          # on_track | at_risk | blocked | achieved | withdrawn
            evidence: https://lab.example/roadmap/2026-04
            note: optional free text
            target: 2026-09-30        # optional: moves the target
            criteria: [...]           # optional: replaces the criteria

Every problem is reported as ``file:line:column`` and nothing is recorded
unless the whole file is valid. A goal that is already recorded must match
the file exactly, and its recorded updates must be the first updates the file
lists; the file's further updates are appended, so importing the same file
twice records nothing the second time.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scaleguard.errors import ConflictError, InputError, Problem
from scaleguard.framework.yamlsource import PathPart, SourceMap, read_listing
from scaleguard.roadmap.checks import as_goal, as_update, goal_issues, update_issues, with_update
from scaleguard.roadmap.model import Goal, GoalSpec, Update, UpdateSpec

MAX_BYTES = 5 * 1024 * 1024
MAX_GOALS = 2_000
MAX_UPDATES = 500
MAX_PROBLEMS = 50
_HINT = "see 'scaleguard roadmap import --help' and docs/roadmap.md for the file shape"

#: File key -> spec field, for goals and updates (the rest are the same).
GOAL_KEYS = {
    "id": "goal",
    "area": "area",
    "title": "title",
    "description": "description",
    "owner": "owner",
    "set_on": "set_on",
    "target": "target",
    "criteria": "criteria",
    "evidence": "evidence_url",
}
UPDATE_KEYS = {
    "on": "on",
    "status": "status",
    "evidence": "evidence_url",
    "note": "note",
    "target": "target",
    "criteria": "criteria",
}
_FILE_KEY = {spec: key for key, spec in {**GOAL_KEYS, **UPDATE_KEYS}.items()}

FilePath = tuple[PathPart, ...]


@dataclass(frozen=True)
class ParsedUpdate:
    spec: UpdateSpec
    path: FilePath


@dataclass(frozen=True)
class ParsedGoal:
    spec: GoalSpec
    path: FilePath
    updates: tuple[ParsedUpdate, ...]


@dataclass(frozen=True)
class ParsedRoadmap:
    file: str
    source: SourceMap
    goals: tuple[ParsedGoal, ...]


@dataclass(frozen=True)
class ImportPlan:
    """What an import will record, checked against the recorded roadmap."""

    new_goals: tuple[GoalSpec, ...]
    unchanged_goals: tuple[str, ...]
    new_updates: tuple[UpdateSpec, ...]
    unchanged_updates: int


# -- parsing ------------------------------------------------------------------------


def parse_roadmap_file(path: Path) -> ParsedRoadmap:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: {size:,} bytes is over the {MAX_BYTES:,}-byte limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a roadmap file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise InputError(f"{path}: a roadmap file is YAML", hint="name it .yaml or .yml")
    return parse_roadmap(data, str(path))


def _raise_if(problems: list[Problem], file: str, *, conflict: bool = False) -> None:
    if not problems:
        return
    shown = problems[:MAX_PROBLEMS]
    extra = len(problems) - len(shown)
    cls = ConflictError if conflict else InputError
    raise cls(
        f"{file} has {len(problems)} problem(s); nothing was imported"
        + (f" (first {MAX_PROBLEMS} shown)" if extra else ""),
        problems=shown,
        hint=_HINT,
    )


def _keys(
    item: Mapping[str, Any], allowed: Mapping[str, str], where: FilePath, source: SourceMap
) -> list[Problem]:
    problems = []
    for key in item:
        if key in allowed or (key == "updates" and "id" in allowed):
            continue
        close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        hint += "known keys: " + ", ".join([*allowed, *(["updates"] if "id" in allowed else [])])
        problems.append(source.problem((*where, key), f"unknown key {key!r}", hint, key=True))
    return problems


def _validation_problems(
    exc: ValidationError, where: FilePath, source: SourceMap, *, skip: frozenset[str] = frozenset()
) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if p != "[key]"]
        if loc and loc[0] in skip:
            continue
        if loc and isinstance(loc[0], str):
            loc[0] = _FILE_KEY.get(loc[0], loc[0])
        message = str(err["msg"]).removeprefix("Value error, ")
        out.append(source.problem((*where, *loc), message))
    return out


def parse_roadmap(data: bytes | str, file: str) -> ParsedRoadmap:
    """Parse a roadmap file's text; InputError lists every problem found, located."""
    if isinstance(data, bytes) and len(data) > MAX_BYTES:
        raise InputError(f"{file}: over the {MAX_BYTES:,}-byte limit")
    items, source = read_listing(
        data, file, key="goals", kind="roadmap", example="id", limit=MAX_GOALS, hint=_HINT
    )
    problems: list[Problem] = []
    goals: list[ParsedGoal] = []
    first_seen: dict[str, FilePath] = {}
    for i, item in enumerate(items):
        parsed = _parse_goal(item, ("goals", i), source, problems)
        if parsed is None:
            continue
        gid = parsed.spec.goal
        if gid in first_seen:
            pos = source.locate((*first_seen[gid], "id"))
            line = f" (first at line {pos[0]})" if pos else ""
            problems.append(
                source.problem(
                    (*parsed.path, "id"),
                    f"goal {gid!r} is listed twice{line}",
                    "list each goal once, with all its updates",
                )
            )
            continue
        first_seen[gid] = parsed.path
        goals.append(parsed)
    _raise_if(problems, file)
    return ParsedRoadmap(file=file, source=source, goals=tuple(goals))


def _parse_goal(
    item: object, where: FilePath, source: SourceMap, problems: list[Problem]
) -> ParsedGoal | None:
    if not isinstance(item, dict):
        problems.append(source.problem(where, "each goal must be a mapping ('id: ...')"))
        return None
    found = _keys(item, GOAL_KEYS, where, source)
    problems.extend(found)
    values = {GOAL_KEYS[k]: v for k, v in item.items() if k in GOAL_KEYS}
    raw_updates = item.get("updates", [])
    if raw_updates is None:
        raw_updates = []
    if not isinstance(raw_updates, list):
        problems.append(source.problem((*where, "updates"), "'updates' must be a list"))
        raw_updates = []
    if len(raw_updates) > MAX_UPDATES:
        problems.append(
            source.problem((*where, "updates"), f"more than {MAX_UPDATES} updates for one goal")
        )
        raw_updates = []
    spec: GoalSpec | None = None
    try:
        spec = GoalSpec.model_validate(values)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, where, source))
    gid = spec.goal if spec is not None else "unknown"
    updates: list[ParsedUpdate] = []
    for j, entry in enumerate(raw_updates):
        at = (*where, "updates", j)
        if not isinstance(entry, dict):
            problems.append(source.problem(at, "each update must be a mapping ('on: ...')"))
            continue
        bad = _keys(entry, UPDATE_KEYS, at, source)
        problems.extend(bad)
        fields: dict[str, Any] = {UPDATE_KEYS[k]: v for k, v in entry.items() if k in UPDATE_KEYS}
        try:
            updates.append(ParsedUpdate(UpdateSpec.model_validate({**fields, "goal": gid}), at))
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, at, source, skip=frozenset({"goal"})))
    if spec is None or found:
        return None
    return ParsedGoal(spec=spec, path=where, updates=tuple(updates))


# -- checking against the recorded roadmap --------------------------------------------


def _same_goal(recorded: Goal, spec: GoalSpec) -> list[str]:
    expected = as_goal(spec)
    return [
        key
        for key in (
            "area",
            "title",
            "description",
            "target",
            "owner",
            "criteria",
            "set_on",
            "evidence_url",
        )
        if getattr(recorded, key) != getattr(expected, key)
    ]


def _same_update(recorded: Update, spec: UpdateSpec) -> bool:
    mine = as_update(spec)
    keys = ("on", "status", "evidence_url", "note", "target", "criteria")
    return all(getattr(recorded, k) == getattr(mine, k) for k in keys)


def _first_mismatch(recorded: Sequence[Update], listed: Sequence[ParsedUpdate]) -> int | None:
    """The first recorded update the file does not repeat exactly, if any."""
    for n, update in enumerate(recorded):
        if n >= len(listed) or not _same_update(update, listed[n].spec):
            return n
    return None


def plan_import(parsed: ParsedRoadmap, recorded: Sequence[Goal], today: date) -> ImportPlan:
    """Check every goal and update in the file against the recorded roadmap, or raise.

    Pure: InputError for problems within the file (dates in the wrong order,
    an update after a goal closed, a date in the future), ConflictError when the
    file contradicts what is already recorded. Either lists every problem.
    """
    source = parsed.source
    known = {g.goal: g for g in recorded}
    problems: list[Problem] = []
    conflict = False
    new_goals: list[GoalSpec] = []
    unchanged_goals: list[str] = []
    new_updates: list[UpdateSpec] = []
    unchanged_updates = 0
    for pg in parsed.goals:
        current = known.get(pg.spec.goal)
        pending = list(pg.updates)
        if current is not None:
            differs = _same_goal(current, pg.spec)
            if differs:
                conflict = True
                key = _FILE_KEY.get(differs[0], differs[0])
                problems.append(
                    source.problem(
                        (*pg.path, key),
                        f"goal {pg.spec.goal!r} is already recorded with a different "
                        + ", ".join(_FILE_KEY.get(d, d) for d in differs),
                        "recorded goals are never edited: change them with an update",
                    )
                )
                continue
            mismatch = _first_mismatch(current.updates, pending)
            if mismatch is not None:
                conflict = True
                at = pending[mismatch].path if mismatch < len(pending) else (*pg.path, "id")
                recorded_on = current.updates[mismatch].on
                problems.append(
                    source.problem(
                        at,
                        f"goal {pg.spec.goal!r} has {len(current.updates)} recorded update(s); "
                        f"the file's update {mismatch + 1} is not the recorded one "
                        f"dated {recorded_on}",
                        "recorded updates are never edited or removed: list them first, "
                        "as recorded, then the new ones",
                    )
                )
                continue
            unchanged_goals.append(pg.spec.goal)
            unchanged_updates += len(current.updates)
            pending = pending[len(current.updates) :]
            goal = current
        else:
            for issue in goal_issues(pg.spec, today):
                problems.append(
                    source.problem(
                        (*pg.path, _FILE_KEY.get(issue.field, issue.field)),
                        issue.message,
                        issue.hint,
                    )
                )
            new_goals.append(pg.spec)
            goal = as_goal(pg.spec)
        for pu in pending:
            issues = update_issues(goal, pu.spec, today)
            for issue in issues:
                conflict = conflict or (issue.conflict and goal is current)
                problems.append(
                    source.problem(
                        (*pu.path, _FILE_KEY.get(issue.field, issue.field)),
                        issue.message,
                        issue.hint,
                    )
                )
            if issues:
                break
            new_updates.append(pu.spec)
            goal = with_update(goal, as_update(pu.spec))
    _raise_if(problems, parsed.file, conflict=conflict)
    return ImportPlan(
        new_goals=tuple(new_goals),
        unchanged_goals=tuple(unchanged_goals),
        new_updates=tuple(new_updates),
        unchanged_updates=unchanged_updates,
    )
