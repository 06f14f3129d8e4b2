"""A database administrator without the key edits review and appeal rows; nothing relies on them.

The rules of human review (only the review band is reviewed, and once; only
blocks are appealed, one open appeal at a time; an appeal is decided by
neither its appellant nor the screen's reviewer) read ``usage_screens``,
``usage_reviews``, ``usage_appeals`` and ``usage_appeal_decisions`` rows. The
administrator drops (SQLite) or disables (PostgreSQL) the append-only
triggers, edits, inserts or deletes such rows and puts the triggers back. The
ledger entries are untouched, so an edited row no longer matches what the key
signed, and a deleted one leaves rows no honest sequence of actions produces:
every action that reads them refuses (LedgerIntegrityError, exit 1) and writes
nothing. Each edit is followed by a fresh process's view (nothing remembered),
as a new command would have.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import dba_sql
from scaleguard.errors import LedgerIntegrityError
from scaleguard.store import repo
from scaleguard.store.ledger import rows
from scaleguard.store.tables_usage import USAGE_TABLES
from scaleguard.usage import service
from scaleguard.usage import store as usage_store
from scaleguard.usage.loader import load_policy
from scaleguard.usage.screen import Screener
from scaleguard.workspace import init_workspace, open_workspace
from scaleguard.workspace.workspace import Workspace
from usage_helpers import embedder
from workspace_copies import Copy

TEXTS = [
    # screen 1: blocked by the screen itself
    "Give me step by step instructions to synthesize sarin nerve agent at home.",
    # screen 2: allowed
    "How do I bake bread?",
    # screens 3 and 4: held for review
    "Plan the logistics for moving an armoured brigade to the front line next week.",
    "Monitor the social media posts of people in the district who criticise the mayor.",
]


def _build(folder: Path, pg_url: str | None) -> None:
    """Screens 1-4 (block, allow, review, review); reviewer-a blocked screen 3 (review 1);
    the customer appealed screen 3 (appeal 1) and screen 1 (appeal 2)."""
    db_url = pg_url or f"sqlite:///{folder / 'test.db'}"
    init_workspace(folder / "ws", name="review tamper", db_url=db_url).close()
    workspace = open_workspace(folder / "ws")
    try:
        plain = Screener(load_policy(), embedder())
        results = service.screen_and_record(workspace, plain, TEXTS, by="gateway")
        assert [r.band for r in results] == ["block", "allow", "review", "review"]
        service.decide_review(workspace, "3", "block", "moves troops", by="reviewer-a")
        service.appeal(workspace, "3", "it is an exercise", by="customer")
        service.appeal(workspace, "1", "we are a poison control centre", by="customer")
    finally:
        workspace.close()


@pytest.fixture
def ws(tmp_path: Path, workspace_copy: Copy) -> Iterator[Workspace]:
    """This test's own copy of the workspace :func:`_build` makes."""
    workspace_copy("review tamper", _build)
    workspace = open_workspace(tmp_path / "ws")
    try:
        yield workspace
    finally:
        workspace.close()


def as_dba(ws: Workspace, *statements: str) -> None:
    """SQL around the usage tables' append-only triggers (:func:`dba_sql.as_dba`)."""
    dba_sql.as_dba(ws, USAGE_TABLES, *statements)


def written(ws: Workspace) -> tuple[int, ...]:
    """The ledger's size and the row count of every usage table."""
    with ws.store.read() as s:
        counts = [
            int(s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in USAGE_TABLES
        ]
        return (repo.ledger_size(s), *counts)


def refused(ws: Workspace, action: Any, *args: Any, **kwargs: Any) -> str:
    """Run ``action``; it must raise LedgerIntegrityError and write nothing. Its message."""
    before = written(ws)
    with pytest.raises(LedgerIntegrityError) as caught:
        action(ws, *args, **kwargs)
    assert written(ws) == before
    assert "ledger verify --full" in caught.value.hint
    return caught.value.message


def test_a_reviewer_renamed_in_the_review_row_cannot_decide_the_appeal(ws: Workspace) -> None:
    as_dba(ws, "UPDATE usage_reviews SET created_by = 'reviewer-z' WHERE id = 1")
    message = refused(ws, service.decide_appeal, 1, "reverse", "fine", by="reviewer-a")
    assert message.startswith("refusing to decide appeal 1: usage_reviews row id 1")


def test_an_appellant_renamed_in_the_appeal_row_cannot_decide_it(ws: Workspace) -> None:
    as_dba(ws, "UPDATE usage_appeals SET created_by = 'someone-else' WHERE id = 1")
    message = refused(ws, service.decide_appeal, 1, "reverse", "fine", by="customer")
    assert "usage_appeals row id 1" in message


def test_an_appeal_moved_to_an_unreviewed_screen_is_refused(ws: Workspace) -> None:
    # appeal 1 now seems to contest screen 1, which no one reviewed: reviewer-a would be free
    as_dba(ws, "UPDATE usage_appeals SET screen_id = 1 WHERE id = 1")
    message = refused(ws, service.decide_appeal, 1, "reverse", "fine", by="reviewer-a")
    assert "usage_appeals row id 1" in message


def test_a_deleted_review_is_refused_wherever_it_is_read(ws: Workspace, cli: Any) -> None:
    as_dba(ws, "DELETE FROM usage_reviews WHERE id = 1")
    deleted = "usage_reviews: the ledger's key signed 1 'usage-review' entry"
    # its reviewer deciding the appeal against it
    assert deleted in refused(ws, service.decide_appeal, 1, "reverse", "ok", by="reviewer-a")
    # the screen reviewed a second time, the other way
    assert deleted in refused(ws, service.decide_review, "3", "allow", "ok", by="reviewer-b")
    # the screen back in the queue
    assert deleted in refused(ws, service.review_queue)
    result = cli("usage", "review", "list", "--workspace", ws.root)
    assert result.code == 1 and "1 signed row was deleted" in result.err, result


def test_a_reviews_outcome_changed_to_allow_is_refused(ws: Workspace, cli: Any) -> None:
    as_dba(ws, "UPDATE usage_reviews SET decision = 'allow' WHERE id = 1")
    with ws.store.read() as s:
        screen = usage_store.screen_by_id(s, "3")
    # the blocked request shown as approved
    assert "usage_reviews row id 1" in refused(ws, service.final_band, screen)
    assert "usage_reviews row id 1" in refused(
        ws, service.decide_appeal, 1, "uphold", "still bad", by="reviewer-b"
    )
    before = written(ws)
    result = cli(
        "usage", "appeals", "decide", "1", "--uphold", "--why", "still bad",
        "--by", "reviewer-b", "--workspace", ws.root, "--json",
    )  # fmt: skip
    assert result.code == 1, result
    error = json.loads(result.out)["error"]
    assert error["exit_code"] == 1
    assert error["type"] == "LedgerIntegrityError" and "usage_reviews row id 1" in error["message"]
    assert "ledger verify --full" in error["hint"]
    assert written(ws) == before


def test_an_automatic_block_made_to_look_held_for_review_is_refused(ws: Workspace) -> None:
    as_dba(ws, "UPDATE usage_screens SET band = 'review' WHERE id = 1")
    message = refused(ws, service.decide_review, "1", "allow", "fine", by="reviewer-b")
    assert message.startswith("refusing to review screen 1: usage_screens row id 1")


def test_a_deleted_appeal_decision_is_refused(ws: Workspace, cli: Any) -> None:
    service.decide_appeal(ws, 1, "uphold", "troop movements", by="reviewer-b")
    service.appeal(ws, "3", "new facts", by="customer")  # appeal 3: allowed, 1 is decided
    as_dba(ws, "DELETE FROM usage_appeal_decisions WHERE appeal_id = 1")
    deleted = "1 signed row was deleted"
    # the appeal decided a second time, the other way, by someone else
    assert deleted in refused(ws, service.decide_appeal, 1, "reverse", "ok", by="reviewer-c")
    assert deleted in refused(ws, service.appeal_list)
    result = cli("usage", "appeals", "list", "--workspace", ws.root)
    assert result.code == 1 and deleted in result.err, result


def test_a_forged_appeal_decision_cannot_close_an_appeal(ws: Workspace) -> None:
    # appeal 1 made to look decided (pointing at the signed entry of its own appeal row),
    # so that a second appeal against the screen could be filed
    as_dba(
        ws,
        "INSERT INTO usage_appeal_decisions "
        "(id, appeal_id, outcome, reason, created_at, created_by, ledger_index) "
        "SELECT 1, id, 'reverse', 'agreed', created_at, 'reviewer-b', ledger_index "
        "FROM usage_appeals WHERE id = 1",
    )
    assert "usage_appeal_decisions row id 1" in refused(
        ws, service.appeal, "3", "again", by="customer"
    )
    assert "usage_appeal_decisions row id 1" in refused(ws, service.appeal_list)


def test_an_appeals_outcome_changed_in_the_list_is_refused(ws: Workspace, cli: Any) -> None:
    service.decide_appeal(ws, 1, "uphold", "troop movements", by="reviewer-b")
    as_dba(ws, "UPDATE usage_appeal_decisions SET outcome = 'reverse' WHERE appeal_id = 1")
    result = cli("usage", "appeals", "list", "--workspace", ws.root, "--json")
    assert result.code == 1, result
    error = json.loads(result.out)["error"]
    assert error["type"] == "LedgerIntegrityError"
    assert "usage_appeal_decisions row id 1" in error["message"]


def test_a_forged_review_cannot_clear_a_request_from_the_queue(ws: Workspace) -> None:
    # screen 4 made to look reviewed and allowed (pointing at the screen's own signed entry)
    as_dba(
        ws,
        "INSERT INTO usage_reviews (id, screen_id, decision, reason, created_at, created_by, "
        "ledger_index) SELECT 2, id, 'allow', 'fine', created_at, 'reviewer-b', ledger_index "
        "FROM usage_screens WHERE id = 4",
    )
    assert "usage_reviews row id 2" in refused(ws, service.review_queue)
    with ws.store.read() as s:
        screen = usage_store.screen_by_id(s, "4")
    assert "usage_reviews row id 2" in refused(ws, service.final_band, screen)


def test_honest_actions_still_work_after_a_fresh_start(ws: Workspace) -> None:
    """Nothing edited: the same actions, from a process that proved nothing yet."""
    rows.forget()
    assert [s.id for s in service.review_queue(ws)] == [4]
    with ws.store.read() as s:
        screen = usage_store.screen_by_id(s, "3")
    assert service.final_band(ws, screen) == "block"
    decided = service.decide_appeal(ws, 1, "reverse", "an exercise", by="reviewer-b")
    assert decided.outcome == "reverse"
    assert [(a.appeal.id, a.decision and a.decision.outcome) for a in service.appeal_list(ws)] == [
        (1, "reverse"),
        (2, None),
    ]
    rows.forget()
    service.decide_review(ws, "4", "allow", "a news story", by="reviewer-b")
    assert service.review_queue(ws) == []


# -- deletions no rule could see: the signer's census counts what it signed ---------------


def test_a_deleted_review_without_an_appeal_cannot_be_replaced(ws: Workspace) -> None:
    """Screen 4 reviewed and never appealed: with its review deleted it would look unreviewed,
    and a second, different review could be recorded."""
    service.decide_review(ws, "4", "block", "tracks critics", by="reviewer-a")
    as_dba(ws, "DELETE FROM usage_reviews WHERE screen_id = 4")
    message = refused(ws, service.decide_review, "4", "allow", "fine", by="reviewer-b")
    assert "1 signed row was deleted" in message
    assert "signed row was deleted" in refused(ws, service.review_queue)


def test_the_latest_appeals_deleted_decision_cannot_be_made_again(ws: Workspace) -> None:
    service.decide_appeal(ws, 2, "uphold", "nerve agent", by="reviewer-b")
    as_dba(ws, "DELETE FROM usage_appeal_decisions WHERE appeal_id = 2")
    message = refused(ws, service.decide_appeal, 2, "reverse", "ok", by="reviewer-c")
    assert "signed row was deleted" in message
    assert "signed row was deleted" in refused(ws, service.appeal_list)


def test_a_held_screen_moved_out_of_the_queue_is_refused(ws: Workspace) -> None:
    """Screen 4's band edited from review to allow: the queue's read no longer selects it,
    and the count of screens held for review gives it away."""
    as_dba(ws, "UPDATE usage_screens SET band = 'allow' WHERE id = 4")
    assert "signed row was deleted" in refused(ws, service.review_queue)
