"""Recording the roadmap on both backends: ledger entries, append-only rows, all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from scaleguard.errors import ConflictError, InputError, NotFoundError
from scaleguard.roadmap.grading import report_card
from scaleguard.roadmap.model import GoalSpec, UpdateSpec
from scaleguard.roadmap.store import (
    GOAL_KIND,
    UPDATE_KIND,
    add_goal,
    add_update,
    import_file,
    load_roadmap,
)
from scaleguard.store import repo
from scaleguard.store.ledger.verify import verify
from scaleguard.store.tables_roadmap import ROADMAP_TABLES
from scaleguard.workspace import Workspace, open_workspace
from workspace_copies import Copy, copied_workspace

TODAY = date(2026, 11, 22)
DEMO = resources.files("scaleguard.demo").joinpath("roadmap.yaml").read_text("utf-8")


@pytest.fixture
def ws(request: pytest.FixtureRequest, workspace_copy: Copy) -> Iterator[Workspace]:
    """A new workspace of the test's own (a copy of one made once)."""
    with open_workspace(copied_workspace(request, workspace_copy, "Roadmap Lab")) as workspace:
        yield workspace


def goal_spec(gid: str = "sec-1", **kw: object) -> GoalSpec:
    values: dict[str, object] = {
        "goal": gid,
        "area": "security",
        "title": "Harden the weights store",
        "description": "Two-person access to every weights bucket.",
        "target": "2026-06-30",
        "owner": "Security",
        "criteria": ["two-person rule", "audit log"],
        "set_on": "2026-01-10",
        "evidence_url": "https://lab.example/r/1",
    }
    values.update(kw)
    return GoalSpec.model_validate(values)


def update_spec(on: str, status: str = "on_track", gid: str = "sec-1", **kw: object) -> UpdateSpec:
    return UpdateSpec.model_validate(
        {"goal": gid, "on": on, "status": status, "evidence_url": "https://lab.example/u", **kw}
    )


def size(ws: Workspace) -> int:
    with ws.store.read() as s:
        return repo.ledger_size(s)


def test_goal_and_updates_are_ledger_records(ws: Workspace) -> None:
    goal = add_goal(ws, goal_spec(), by="rso", today=TODAY)
    updated = add_update(
        ws, update_spec("2026-03-01", target="2026-09-30", note="slip"), by="rso", today=TODAY
    )
    (stored,) = load_roadmap(ws)
    assert stored == updated
    assert stored.updates[0].target == date(2026, 9, 30)
    assert stored.updates[0].recorded_by == "rso"
    with ws.store.read() as s:
        first, second = repo.ledger_entries(s, goal.ledger_index, goal.ledger_index + 2)
    assert (first.kind, first.subject) == (GOAL_KIND, "sec-1")
    assert (second.kind, second.subject) == (UPDATE_KIND, "sec-1")
    record = json.loads(second.data)["record"]
    assert record["dated_on"] == "2026-03-01" and record["target"] == "2026-09-30"
    assert record["created_by"] == "rso"
    ws.checkpoint()
    report = verify(ws.store, ws.verifier(), full=True)
    assert report.ok, report
    assert report.records == 2


def test_roadmap_rows_are_append_only(ws: Workspace) -> None:
    add_goal(ws, goal_spec(), by="rso", today=TODAY)
    add_update(ws, update_spec("2026-03-01"), by="rso", today=TODAY)
    for table in ROADMAP_TABLES:
        for statement in (f"UPDATE {table} SET created_by = 'mallory'", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="append-only"), ws.store.write() as tx:
                tx.execute(text(statement))
    assert load_roadmap(ws)[0].updates[0].recorded_by == "rso"


def test_a_tampered_roadmap_row_fails_verification(ws: Workspace) -> None:
    add_goal(ws, goal_spec(), by="rso", today=TODAY)
    ws.checkpoint()
    with ws.store.write() as tx:
        if ws.store.backend == "sqlite":
            tx.execute(text("DROP TRIGGER roadmap_goals_no_update"))
        else:
            tx.execute(text("ALTER TABLE roadmap_goals DISABLE TRIGGER roadmap_goals_append_only"))
        tx.execute(text("UPDATE roadmap_goals SET target = '2027-06-30'"))
    report = verify(ws.store, ws.verifier(), full=True)
    assert not report.ok
    assert any(d.table == "roadmap_goals" for d in report.discrepancies)


def test_a_goal_id_is_set_once(ws: Workspace) -> None:
    add_goal(ws, goal_spec(), by="rso", today=TODAY)
    before = size(ws)
    with pytest.raises(ConflictError, match="already on the roadmap"):
        add_goal(ws, goal_spec(title="Something else"), by="rso", today=TODAY)
    assert size(ws) == before


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        (update_spec("2026-01-09"), InputError, "before the goal was set"),
        (update_spec("2026-02-01"), InputError, "wrong order"),
        (update_spec("2026-11-23"), InputError, "after today"),
        (update_spec("2026-03-01", gid="sec-2"), NotFoundError, "no roadmap goal 'sec-2'"),
    ],
)
def test_bad_updates_write_nothing(
    ws: Workspace, spec: UpdateSpec, error: type[Exception], message: str
) -> None:
    add_goal(ws, goal_spec(), by="rso", today=TODAY)
    add_update(ws, update_spec("2026-03-01"), by="rso", today=TODAY)
    before = size(ws)
    with pytest.raises(error, match=message):
        add_update(ws, spec, by="rso", today=TODAY)
    assert size(ws) == before
    assert len(load_roadmap(ws)[0].updates) == 1


def test_a_closed_goal_takes_no_more_updates(ws: Workspace) -> None:
    add_goal(ws, goal_spec(), by="rso", today=TODAY)
    add_update(ws, update_spec("2026-05-01", "achieved"), by="rso", today=TODAY)
    with pytest.raises(ConflictError, match="achieved on 2026-05-01"):
        add_update(ws, update_spec("2026-06-01"), by="rso", today=TODAY)


def test_import_records_the_demo_roadmap_in_date_order(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "roadmap.yaml"
    path.write_text(DEMO)
    summary = import_file(ws, path, by="rso", today=TODAY)
    assert len(summary.goals_added) == 7 and summary.updates_added == 16
    goals = load_roadmap(ws)
    dated = sorted(
        [(g.set_on, g.ledger_index) for g in goals]
        + [(u.on, u.ledger_index) for g in goals for u in g.updates]
    )
    indices = [index for _, index in dated]
    assert indices == sorted(indices)  # ledger order follows the stated dates
    card = report_card(goals, date(2026, 11, 15))
    assert card.totals == {
        "achieved_on_time": 1,
        "achieved_late": 1,
        "on_track": 1,
        "at_risk": 2,
        "missed": 1,
        "withdrawn": 1,
    }
    again = import_file(ws, path, by="rso", today=TODAY)
    assert again.goals_added == () and again.updates_added == 0
    assert again.updates_unchanged == 16
    ws.checkpoint()
    assert verify(ws.store, ws.verifier(), full=True).ok


def test_import_appends_new_updates_to_recorded_goals(ws: Workspace, tmp_path: Path) -> None:
    cut = DEMO.index("      - on: 2026-10-10\n")
    end = DEMO.index("  - id: sec-baseline-controls")
    path = tmp_path / "roadmap.yaml"
    path.write_text(DEMO[:cut] + DEMO[end:])
    import_file(ws, path, by="rso", today=TODAY)
    path.write_text(DEMO)
    summary = import_file(ws, path, by="rso", today=TODAY)
    assert summary.goals_added == () and summary.updates_added == 1
    enclave = next(g for g in load_roadmap(ws) if g.goal == "sec-isolated-enclave")
    assert enclave.updates[-1].status == "achieved"


def test_import_is_all_or_nothing(ws: Workspace, tmp_path: Path) -> None:
    bad = DEMO.replace("      - on: 2026-07-20\n", "      - on: 2026-04-01\n")
    path = tmp_path / "roadmap.yaml"
    path.write_text(bad)
    before = size(ws)
    with pytest.raises(InputError) as info:
        import_file(ws, path, by="rso", today=TODAY)
    (problem,) = info.value.problems
    assert problem.file == str(path) and problem.line is not None
    assert "wrong order" in problem.message
    assert size(ws) == before and load_roadmap(ws) == []


def test_import_conflicting_with_the_record_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "roadmap.yaml"
    path.write_text(DEMO)
    import_file(ws, path, by="rso", today=TODAY)
    before = size(ws)
    path.write_text(DEMO.replace("target: 2026-05-15", "target: 2026-06-15"))
    with pytest.raises(ConflictError) as info:
        import_file(ws, path, by="rso", today=TODAY)
    assert "different target" in info.value.problems[0].message
    edited = DEMO.replace("note: Internal report drafted.", "note: Report done.")
    path.write_text(edited)
    with pytest.raises(ConflictError) as info:
        import_file(ws, path, by="rso", today=TODAY)
    problem = info.value.problems[0]
    assert "not the recorded one dated 2026-04-28" in problem.message
    assert problem.line == edited.splitlines().index("      - on: 2026-04-28") + 1
    assert size(ws) == before
