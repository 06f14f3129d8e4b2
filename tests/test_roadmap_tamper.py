"""A database administrator without the key edits roadmap rows; the report card does not improve.

The public and regulators read the roadmap's report card. It is graded from
``roadmap_goals`` and ``roadmap_updates`` rows, so an administrator could drop
(SQLite) or disable (PostgreSQL) the append-only triggers and delete a missed
goal, delete or edit the update that said a goal was blocked or that moved its
target later, move a goal's target date, or forge an "achieved" update; the
ledger entries are untouched. An edited or forged row no longer matches what the
key signed, and a deleted one leaves fewer rows than the signer counted: every
read that grades, lists or shows the roadmap, and every change checked against
it, refuses (LedgerIntegrityError, CLI exit 1, HTTP 500) and writes nothing.
Each edit is followed by a fresh process's view (nothing remembered), as a new
command would have. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dba_sql import as_dba, row_counts
from scaleguard.errors import LedgerIntegrityError
from scaleguard.roadmap.grading import report_card
from scaleguard.roadmap.model import Goal, GoalCard, GoalSpec, UpdateSpec
from scaleguard.roadmap.store import (
    add_goal,
    add_update,
    import_file,
    load_goal,
    load_history,
    load_roadmap,
    read_goals,
)
from scaleguard.store.ledger import rows
from scaleguard.store.ledger.census import census_path
from scaleguard.store.tables_roadmap import ROADMAP_TABLES
from scaleguard.workspace import init_workspace, open_workspace
from scaleguard.workspace.workspace import Workspace
from workspace_copies import Copy

DEMO = resources.files("scaleguard.demo").joinpath("roadmap.yaml").read_text("utf-8")
AS_OF = date(2026, 11, 15)
TODAY = date(2026, 11, 22)
DELETED = "signed row was deleted"
#: due 2026-09-30, never achieved: missed as of AS_OF
MISSED = "sfg-automated-investigations"
#: its latest update (2026-11-02) says blocked: at risk
BLOCKED = "aln-interpretability-audit"
#: due 2026-05-15, moved to 2026-09-30 (flagged), achieved 2026-10-10: achieved late
LATE = "sec-isolated-enclave"
#: withdrawn on 2026-06-10: closed
WITHDRAWN = "sfg-retention-principles"


def build(folder: Path, pg_url: str | None) -> None:
    """A workspace with the demo roadmap imported: seven goals, every grade as of AS_OF."""
    ws = init_workspace(folder / "ws", db_url=pg_url, name="Roadmap Lab")
    try:
        (folder / "roadmap.yaml").write_text(DEMO)
        import_file(ws, folder / "roadmap.yaml", by="rso", today=TODAY)
    finally:
        ws.close()


@pytest.fixture
def ws(tmp_path: Path, workspace_copy: Copy) -> Iterator[Workspace]:
    workspace_copy("roadmap tamper", build)
    rows.forget()
    with open_workspace(tmp_path / "ws") as workspace:
        yield workspace


def unchecked(ws: Workspace) -> list[Goal]:
    with ws.store.read() as s:
        return read_goals(s)


def graded(ws: Workspace, load: Callable[[Workspace], list[Goal]]) -> tuple[GoalCard, ...]:
    return report_card(load(ws), AS_OF).goals


def grades(ws: Workspace) -> dict[str, str]:
    return {g.goal: g.grade for g in graded(ws, load_roadmap)}


def dba(ws: Workspace, *statements: str) -> None:
    as_dba(ws, ROADMAP_TABLES, *statements)


def refused(ws: Workspace, action: Any, *args: Any, **kwargs: Any) -> str:
    """Run ``action``; it must raise LedgerIntegrityError (a server's fault: status 500)
    and write nothing. Its message."""
    before = row_counts(ws, ROADMAP_TABLES)
    with pytest.raises(LedgerIntegrityError) as caught:
        action(ws, *args, **kwargs)
    assert row_counts(ws, ROADMAP_TABLES) == before
    assert caught.value.message.startswith("refusing to "), caught.value.message
    assert caught.value.status == 500
    assert "ledger verify --full" in caught.value.hint
    rows.forget()  # the next action starts as a new process would
    return caught.value.message


def cli_refused(cli: Any, ws: Workspace, *args: str) -> dict[str, Any]:
    """``scaleguard ARGS --json`` exits 1 with the error envelope on stdout; the error."""
    before = row_counts(ws, ROADMAP_TABLES)
    result = cli(*args, "--workspace", ws.root, "--json")
    assert result.code == 1, result
    error: dict[str, Any] = json.loads(result.out)["error"]
    assert error["type"] == "LedgerIntegrityError" and error["exit_code"] == 1, error
    assert "ledger verify --full" in error["hint"]
    assert row_counts(ws, ROADMAP_TABLES) == before
    rows.forget()
    return error


def every_read_refuses(ws: Workspace, cli: Any, goal: str, found: str) -> None:
    """The card, the listing, the published page, the goal, a diff and the web pages."""
    message = refused(ws, load_roadmap)
    assert message.startswith("refusing to grade the roadmap: ") and found in message
    assert found in refused(ws, load_goal, goal)
    assert found in refused(ws, load_history)
    for command in (("grade",), ("list",), ("show", goal), ("diff", "2026-06-30", "head")):
        assert found in cli_refused(cli, ws, "roadmap", *command)["message"]
    out = ws.root / "card.html"
    result = cli("roadmap", "publish", "--format", "html", "-o", out, "--workspace", ws.root)
    assert result.code == 1 and found in result.err and not out.exists(), result
    rows.forget()
    from scaleguard.web.app import create_app

    with TestClient(create_app(ws.root), base_url="https://testserver") as client:
        for url in ("/roadmap", "/api/v1/roadmap?as_of=2026-11-15"):
            response = client.get(url)
            assert response.status_code == 500, (url, response.text[:300])
            assert "refusing to show the roadmap" in response.text and found in response.text
        error = client.get("/api/v1/roadmap").json()["error"]
        assert error["code"] == "ledger_integrity" and "ledger verify" in error["hint"]
    rows.forget()


def test_a_deleted_missed_goal_does_not_leave_the_card(ws: Workspace, cli: Any) -> None:
    assert grades(ws)[MISSED] == "missed"
    dba(
        ws,
        f"DELETE FROM roadmap_updates WHERE goal = '{MISSED}'",
        f"DELETE FROM roadmap_goals WHERE goal = '{MISSED}'",
    )
    every_read_refuses(ws, cli, MISSED, DELETED)
    # asked for by its id it is not "no roadmap goal": the key signed it and its updates
    message = refused(ws, load_goal, MISSED)
    assert message.startswith(f"refusing to show roadmap goal '{MISSED}': roadmap_goals: ")
    assert f"1 'roadmap-goal' entry about '{MISSED}'" in message


def test_a_deleted_goal_cannot_be_set_again_with_a_later_target(ws: Workspace) -> None:
    dba(
        ws,
        f"DELETE FROM roadmap_updates WHERE goal = '{MISSED}'",
        f"DELETE FROM roadmap_goals WHERE goal = '{MISSED}'",
    )
    spec = GoalSpec.model_validate(
        {
            "goal": MISSED,
            "area": "safeguards",
            "title": "Automated investigations, again",
            "description": "The same goal with a target that has not passed.",
            "target": "2027-06-30",
            "owner": "Safeguards",
            "set_on": "2026-11-20",
        }
    )
    message = refused(ws, add_goal, spec, by="rso", today=TODAY)
    assert message.startswith(f"refusing to add roadmap goal '{MISSED}': roadmap_goals: ")
    update = UpdateSpec.model_validate(
        {
            "goal": MISSED,
            "on": "2026-11-20",
            "status": "achieved",
            "evidence_url": "https://x.example",
        }
    )
    assert DELETED in refused(ws, add_update, update, by="rso", today=TODAY)
    source = ws.root / "roadmap.yaml"
    source.write_text(DEMO)
    message = refused(ws, import_file, source, by="rso", today=TODAY)
    assert message.startswith("refusing to import roadmap.yaml: ") and DELETED in message


@pytest.mark.parametrize(
    ("statements", "goal", "improved", "found"),
    [
        # at risk becomes on track
        ([f"DELETE FROM roadmap_updates WHERE goal = '{BLOCKED}' AND status = 'blocked'"],
         BLOCKED, ("on_track", False), DELETED),
        ([f"UPDATE roadmap_updates SET status = 'on_track' WHERE goal = '{BLOCKED}' "
          "AND status = 'blocked'"], BLOCKED, ("on_track", False), "roadmap_updates row id"),
        # the "revised less ambitiously" flag disappears
        ([f"DELETE FROM roadmap_updates WHERE goal = '{LATE}' AND target IS NOT NULL"],
         LATE, ("achieved_late", False), DELETED),
        # a later due date: missed becomes on track
        ([f"UPDATE roadmap_goals SET target = '2026-12-31' WHERE goal = '{MISSED}'"],
         MISSED, ("on_track", False), "roadmap_goals row id"),
        # a forged "achieved" over the signed entry of the goal itself: missed becomes on time
        ([
            "INSERT INTO roadmap_updates (id, goal, dated_on, status, evidence_url, note, "
            "target, criteria, created_at, created_by, ledger_index) "
            f"SELECT 100, goal, '2026-09-29', 'achieved', evidence_url, NULL, NULL, NULL, "
            f"created_at, created_by, ledger_index FROM roadmap_goals WHERE goal = '{MISSED}'"
        ], MISSED, ("achieved_on_time", False), "roadmap_updates row id 100"),
    ],
    ids=["deleted-blocked", "blocked-to-on-track", "deleted-delay", "later-due-date", "forged"],
)  # fmt: skip
def test_an_edited_deleted_or_forged_row_improves_no_grade(
    ws: Workspace,
    cli: Any,
    statements: list[str],
    goal: str,
    improved: tuple[str, bool],
    found: str,
) -> None:
    card = {g.goal: (g.grade, g.revised_less_ambitiously) for g in graded(ws, load_roadmap)}
    assert card[goal] != improved
    dba(ws, *statements)
    # what the edited rows would grade, read without the check
    card = {g.goal: (g.grade, g.revised_less_ambitiously) for g in graded(ws, unchecked)}
    assert card[goal] == improved
    every_read_refuses(ws, cli, goal, found)


def test_a_deleted_withdrawal_does_not_reopen_the_goal(ws: Workspace, cli: Any) -> None:
    """Withdrawn goals take no more updates; without the withdrawal one could be achieved."""
    dba(ws, f"DELETE FROM roadmap_updates WHERE goal = '{WITHDRAWN}' AND status = 'withdrawn'")
    update = UpdateSpec.model_validate(
        {
            "goal": WITHDRAWN,
            "on": "2026-11-20",
            "status": "achieved",
            "evidence_url": "https://x.example",
        }
    )
    message = refused(ws, add_update, update, by="rso", today=TODAY)
    assert message.startswith(f"refusing to update roadmap goal '{WITHDRAWN}': roadmap_updates: ")
    assert f"'roadmap-update' entries about '{WITHDRAWN}'" in message and DELETED in message
    error = cli_refused(
        cli, ws, "roadmap", "update", WITHDRAWN, "--status", "achieved",
        "--evidence", "https://x.example", "--on", "2026-11-20", "--by", "rso",
    )  # fmt: skip
    assert DELETED in error["message"]


def test_honest_roadmap_works_from_a_fresh_process(ws: Workspace, cli: Any) -> None:
    """Nothing edited: every checked read and write, from a process that proved nothing and
    whose census file is gone (counted again from the ledger)."""
    census_path(ws.ledger_state_path).unlink()
    rows.forget()
    graded = grades(ws)
    assert (graded[MISSED], graded[BLOCKED], graded[LATE]) == ("missed", "at_risk", "achieved_late")
    assert load_goal(ws, LATE).updates[-1].status == "achieved"
    goals, size = load_history(ws)
    assert len(goals) == 7 and size > 7
    rows.forget()
    for command in (("grade",), ("list",), ("show", MISSED), ("diff", "2026-06-30", "head")):
        result = cli("roadmap", *command, "--workspace", ws.root, "--json")
        assert result.code == 0, result
    source = ws.root / "roadmap.yaml"
    source.write_text(DEMO)
    rows.forget()
    assert import_file(ws, source, by="rso", today=TODAY).updates_added == 0
    update = UpdateSpec.model_validate(
        {
            "goal": BLOCKED,
            "on": "2026-11-20",
            "status": "on_track",
            "evidence_url": "https://x.example",
        }
    )
    rows.forget()
    assert add_update(ws, update, by="rso", today=TODAY).updates[-1].status == "on_track"
    spec = GoalSpec.model_validate(
        {
            "goal": "pol-new",
            "area": "policy",
            "title": "A new goal",
            "description": "Set after the others.",
            "target": "2027-06-30",
            "owner": "Policy",
            "set_on": "2026-11-20",
        }
    )
    rows.forget()
    assert add_goal(ws, spec, by="rso", today=TODAY).goal == "pol-new"
    from scaleguard.web.app import create_app

    rows.forget()
    with TestClient(create_app(ws.root), base_url="https://testserver") as client:
        assert client.get("/roadmap").status_code == 200
        card = client.get("/api/v1/roadmap?as_of=2026-11-15").json()
        assert card["total"] == 7 and card["not_yet_set"] == 1
