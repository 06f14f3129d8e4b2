"""The signer's state log across crashes, and group commit of concurrent writers.

The state file must never claim a checkpoint the database does not hold, and
may only lag behind it (then the signer adopts its own newer checkpoints).
Group commit must give every writer exactly its own outcome.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from child_processes import crash_after_commit
from conftest import worker_context
from scaleguard.errors import LedgerError, LedgerIntegrityError, StoreError
from scaleguard.store import repo
from scaleguard.store.ledger import state as state_module
from scaleguard.store.ledger import tree as ledger_tree
from scaleguard.store.ledger.signer import LedgerSigner, read_state
from scaleguard.store.ledger.state import HEADER, LEGACY_FORMAT, StateLog, state_line
from scaleguard.workspace import Workspace, open_workspace
from test_ledger_tamper import attack, rebuild_tree, rewritten, set_entry, sql
from workspace_copies import Copy, copied_workspace

Cli = Callable[..., Any]


@pytest.fixture
def ws(request: pytest.FixtureRequest, workspace_copy: Copy) -> Iterator[Workspace]:
    """A new workspace of the test's own (a copy of one made once)."""
    with open_workspace(copied_workspace(request, workspace_copy, "Durable Lab")) as workspace:
        yield workspace


def add_fact(ws: Workspace, name: str = "f") -> int:
    with ws.store.write() as tx:
        fact = repo.add_fact(tx, name=name, value=1, source="https://s", asserted_by="x")
    return fact.ledger_index


def facts(ws: Workspace, count: int) -> None:
    for i in range(count):
        add_fact(ws, f"f{i}")


def state_lines(ws: Workspace) -> list[bytes]:
    return ws.ledger_state_path.read_bytes().splitlines(keepends=True)


def checkpoint_sizes(ws: Workspace) -> list[int]:
    with ws.store.read() as s:
        return [c.size for c in ledger_tree.checkpoints(s)]


def size_of(ws: Workspace) -> int:
    with ws.store.read() as s:
        return ledger_tree.ledger_size(s)


def state_size(ws: Workspace) -> int:
    state = read_state(ws.ledger_state_path, ws.verifier())
    assert state is not None
    return state.signed.size


# -- the state log ---------------------------------------------------------------------


def test_each_commit_appends_one_line_and_the_last_line_is_the_state(ws: Workspace) -> None:
    assert state_lines(ws) == [HEADER, state_lines(ws)[1]]  # the signed empty tree
    facts(ws, 3)
    lines = state_lines(ws)
    assert lines[0] == HEADER and len(lines) == 5
    assert [json.loads(line)["size"] for line in lines[1:]] == [0, 1, 2, 3]
    state = read_state(ws.ledger_state_path, ws.verifier())
    assert state is not None and state.signed.size == 3 and state.torn == 0
    assert state.warning is None
    assert oct(ws.ledger_state_path.stat().st_mode & 0o777) == "0o600"


def test_a_torn_final_line_is_ignored_reported_and_repaired(ws: Workspace, cli: Cli) -> None:
    facts(ws, 3)
    data = ws.ledger_state_path.read_bytes()
    last = state_lines(ws)[-1]
    # What a crash while appending the line of checkpoint 3 leaves: a prefix without its newline.
    ws.ledger_state_path.write_bytes(data[: -len(last)] + last[: len(last) // 2])
    state = read_state(ws.ledger_state_path, ws.verifier())
    assert state is not None and state.signed.size == 2 and state.torn == len(last) // 2
    assert state.warning is not None and "incomplete line" in state.warning
    checked = cli("ledger", "verify", "--workspace", ws.root)
    assert checked.code == 0 and "incomplete line" in checked.err
    assert add_fact(ws) == 3  # checkpoint 3 is adopted from the database, 4 is signed
    lines = state_lines(ws)
    assert lines[0] == HEADER and len(lines) == 2 and lines[1].endswith(b"\n")  # rewritten
    assert state_size(ws) == 4 and checkpoint_sizes(ws) == [0, 1, 2, 3, 4]
    assert ws.verify_ledger(full=True).ok


def test_a_complete_line_that_does_not_verify_stops_signing(ws: Workspace) -> None:
    facts(ws, 2)
    value = json.loads(state_lines(ws)[-1])
    value["frontier"][0] = value["frontier"][0].replace(value["frontier"][0][0], "A", 1)
    if value == json.loads(state_lines(ws)[-1]):  # the hash started with "A" already
        value["frontier"][0] = "B" + value["frontier"][0][1:]
    lines = state_lines(ws)
    ws.ledger_state_path.write_bytes(b"".join(lines[:-1]) + json.dumps(value).encode() + b"\n")
    with pytest.raises(LedgerError, match="does not fold to its root") as refused:
        add_fact(ws)
    assert "restore" in refused.value.hint
    assert size_of(ws) == 2 and checkpoint_sizes(ws) == [0, 1, 2]


def test_a_crash_between_commit_and_state_write_is_rolled_forward(ws: Workspace) -> None:
    facts(ws, 2)
    before = ws.ledger_state_path.read_bytes()
    proc = worker_context().Process(target=crash_after_commit, args=(str(ws.root),))
    proc.start()
    proc.join(timeout=300)
    assert proc.exitcode == 17
    # The commit is durable, the state never got ahead of it: it lags by one checkpoint.
    assert checkpoint_sizes(ws) == [0, 1, 2, 3]
    assert ws.ledger_state_path.read_bytes() == before
    with open_workspace(ws.root) as again:
        assert add_fact(again) == 3
        assert state_size(again) == 4 and checkpoint_sizes(again) == [0, 1, 2, 3, 4]
        assert again.verify_ledger(full=True).ok


def test_a_state_behind_the_database_is_rolled_forward(ws: Workspace) -> None:
    add_fact(ws)
    old = ws.ledger_state_path.read_bytes()  # e.g. restored from last night's backup
    facts(ws, 2)
    ws.ledger_state_path.write_bytes(old)
    assert state_size(ws) == 1
    add_fact(ws)
    assert state_size(ws) == 4 and checkpoint_sizes(ws) == [0, 1, 2, 3, 4]
    assert ws.verify_ledger(full=True).ok


def test_a_state_ahead_of_the_database_is_refused(ws: Workspace) -> None:
    facts(ws, 3)
    # The database is rolled back by one transaction (a restored backup, an administrator):
    # the state now claims a checkpoint the database does not hold.
    attack(
        ws,
        sql("DELETE FROM facts WHERE ledger_index >= 2"),
        sql("DELETE FROM ledger_entries WHERE idx >= 2"),
        sql("DELETE FROM ledger_checkpoints WHERE size > 2"),
    )
    attack(ws, *rebuild_tree(ws))
    with pytest.raises(LedgerIntegrityError, match="newer entries and checkpoints were deleted"):
        add_fact(ws)
    assert size_of(ws) == 2 and state_size(ws) == 3


def test_a_commit_that_fails_after_sealing_leaves_the_state_alone(ws: Workspace) -> None:
    facts(ws, 2)
    before = ws.ledger_state_path.read_bytes()
    signer = LedgerSigner(ws.signer(), ws.ledger_state_path)
    ws.store.sealer = signer

    def fail(conn: Any) -> None:
        raise RuntimeError("the disk is gone")

    event.listen(ws.store.engine, "commit", fail)
    try:
        with pytest.raises(RuntimeError, match="disk is gone"):
            add_fact(ws)
    finally:
        event.remove(ws.store.engine, "commit", fail)
    assert signer._pending == {}  # the signed but never committed tree is forgotten
    assert ws.ledger_state_path.read_bytes() == before
    assert checkpoint_sizes(ws) == [0, 1, 2]
    assert add_fact(ws) == 2 and state_size(ws) == 3
    assert ws.verify_ledger(full=True).ok


def test_the_single_json_state_of_earlier_versions_is_read_and_converted(
    ws: Workspace, cli: Cli
) -> None:
    facts(ws, 2)
    state = read_state(ws.ledger_state_path, ws.verifier())
    assert state is not None
    line = json.loads(state_lines(ws)[-1])
    old = {
        "format": LEGACY_FORMAT,
        "signed": {"checkpoint": line["checkpoint"], "frontier": line["frontier"]},
    }
    ws.ledger_state_path.write_text(json.dumps(old, indent=1) + "\n")
    legacy = read_state(ws.ledger_state_path, ws.verifier())
    assert legacy is not None and legacy.legacy and legacy.signed == state.signed
    assert cli("ledger", "verify", "--workspace", ws.root).code == 0
    assert cli("models", "add", "m-1", "--workspace", ws.root).code == 0
    lines = state_lines(ws)
    assert lines[0] == HEADER and len(lines) == 2 and json.loads(lines[1])["size"] == 3
    assert ws.verify_ledger(full=True).ok


def test_a_large_state_log_is_compacted_to_its_newest_line(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_module, "COMPACT_BYTES", 1200)
    sizes, counts = [], []
    for i in range(10):
        add_fact(ws, f"f{i}")
        sizes.append(ws.ledger_state_path.stat().st_size)
        counts.append(len(state_lines(ws)))
    assert max(sizes) < 1200 + 2 * len(state_lines(ws)[-1])
    assert counts != sorted(counts)  # it was rewritten with fewer lines at least once
    assert state_lines(ws)[0] == HEADER
    assert state_size(ws) == 10 and ws.verify_ledger(full=True).ok


def test_the_cached_state_follows_other_writers_of_the_file(ws: Workspace) -> None:
    facts(ws, 1)
    mine = StateLog(ws.ledger_state_path, ws.verifier())
    state = mine.read()
    assert state is not None and state.signed.size == 1
    facts(ws, 1)  # another signer (the workspace's) appends
    newer = mine.read()
    assert newer is not None and newer.signed.size == 2
    # An edit in place that keeps the size is seen once the modification time changes.
    data = bytearray(ws.ledger_state_path.read_bytes())
    at = data.rindex(b'"size":2')
    data[at : at + 8] = b'"size":3'
    stamp = ws.ledger_state_path.stat().st_mtime_ns
    ws.ledger_state_path.write_bytes(bytes(data))
    os.utime(ws.ledger_state_path, ns=(stamp + 1_000_000, stamp + 1_000_000))
    with pytest.raises(LedgerError, match="'size' is not the size of its checkpoint"):
        mine.read()


def test_state_lines_escape_the_notes_newlines(ws: Workspace) -> None:
    state = read_state(ws.ledger_state_path, ws.verifier())
    assert state is not None
    line = state_line(state.signed)
    assert line.count(b"\n") == 1 and line.endswith(b"\n") and b"\n" in state.signed.note


# -- the seal's one query still catches rewritten history -------------------------------


@pytest.mark.parametrize("appended", [1, 2])
@pytest.mark.parametrize("how", ["node", "rebuilt"])
def test_a_rewritten_subtree_is_refused_whether_or_not_the_new_tree_absorbs_it(
    ws: Workspace, how: str, appended: int
) -> None:
    """Six entries: the frontier is [0..4) and [4..6). Appending one keeps [4..6) as a node of
    the new frontier; appending two folds it into the new node [0..8), which the write computes
    from the stored hashes. Either way a rewritten [4..6) changes what the seal compares."""
    facts(ws, 6)
    if how == "node":
        attack(
            ws, sql("UPDATE ledger_nodes SET hash = :h WHERE level = 1 AND idx = 2", h=b"\x01" * 32)
        )
    else:
        attack(ws, *set_entry(5, rewritten(ws, 5, value=99)))
        attack(ws, sql("UPDATE facts SET value = '99' WHERE ledger_index = 5"))
        attack(ws, *rebuild_tree(ws))
    with pytest.raises(LedgerIntegrityError, match="history was rewritten"), ws.store.write() as tx:
        for k in range(appended):
            _fact(tx, k)
    assert size_of(ws) == 6 and checkpoint_sizes(ws) == [0, 1, 2, 3, 4, 5, 6]


# -- group commit ----------------------------------------------------------------------


def _wait_for(ws: Workspace, joined: int) -> None:
    """Block until ``joined`` writers are in the open batch (bounded, not a timing claim)."""
    deadline = time.monotonic() + 60
    while ws.store.group_committer().joined < joined:
        assert time.monotonic() < deadline, "the writers never joined one batch"
        time.sleep(0.005)


def _group(
    ws: Workspace, count: int, work: Callable[[Any, int], int]
) -> dict[int, int | BaseException]:
    """``count`` threads, each running ``work`` in one group write; all in one batch."""
    results: dict[int, int | BaseException] = {}

    def run(k: int) -> None:
        try:
            with ws.store.write(group=True) as tx:
                if k == 0:
                    _wait_for(ws, count)  # hold the batch open until everyone joined
                results[k] = work(tx, k)
        except BaseException as err:
            results[k] = err

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    threads[0].start()
    _wait_for(ws, 1)
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def _fact(tx: Any, k: int) -> int:
    fact = repo.add_fact(tx, name=f"w{k}", value=k, source="https://s", asserted_by="x")
    return fact.ledger_index


def test_concurrent_group_writers_share_one_seal_and_each_get_their_entry(
    ws: Workspace,
) -> None:
    facts(ws, 2)
    results = _group(ws, 6, _fact)
    assert sorted(results) == list(range(6))
    indices = sorted(v for v in results.values() if isinstance(v, int))
    assert indices == list(range(2, 8))  # dense, one each
    assert checkpoint_sizes(ws) == [0, 1, 2, 8]  # one signature for the whole batch
    with ws.store.read() as s:
        names = {f.ledger_index: f.name for f in repo.facts(s)}
    assert all(names[i] == f"w{k}" for k, i in results.items())
    assert state_size(ws) == 8
    assert ws.verify_ledger(full=True).ok


def test_a_failing_group_writer_loses_only_its_own_work(ws: Workspace) -> None:
    def work(tx: Any, k: int) -> int:
        index = _fact(tx, k)
        if k == 2:
            raise ValueError("writer 2 changes its mind")
        if k == 4:  # a database error: on PostgreSQL it aborts the shared transaction
            tx.execute(text("SELECT * FROM no_such_table"))
        return index

    results = _group(ws, 6, work)
    assert isinstance(results[2], ValueError)
    assert isinstance(results[4], Exception) and not isinstance(results[4], ValueError)
    kept = {k: v for k, v in results.items() if k not in (2, 4)}
    assert all(isinstance(v, int) for v in kept.values())
    assert sorted(v for v in kept.values() if isinstance(v, int)) == [0, 1, 2, 3]
    with ws.store.read() as s:
        names = sorted(f.name for f in repo.facts(s))
    assert names == ["w0", "w1", "w3", "w5"]
    assert checkpoint_sizes(ws) == [0, 4]
    assert ws.verify_ledger(full=True).ok
    assert add_fact(ws) == 4  # and the next plain write continues the tree


def test_a_refused_seal_fails_every_writer_of_the_batch(ws: Workspace) -> None:
    facts(ws, 2)
    attack(ws, sql("DELETE FROM ledger_checkpoints WHERE size = 2"))
    results = _group(ws, 3, _fact)
    assert all(isinstance(v, LedgerIntegrityError) for v in results.values())
    assert all("checkpoints were deleted" in str(v) for v in results.values())
    assert size_of(ws) == 2 and state_size(ws) == 2


def test_group_writes_alone_behave_like_plain_writes(ws: Workspace) -> None:
    with ws.store.write(group=True) as tx:
        first = _fact(tx, 0)
    with pytest.raises(KeyError), ws.store.write(group=True) as tx:
        _fact(tx, 1)
        raise KeyError("rolled back")
    with ws.store.write(group=True) as tx:
        second = _fact(tx, 2)
    assert (first, second) == (0, 1)
    assert checkpoint_sizes(ws) == [0, 1, 2]
    assert ws.verify_ledger(full=True).ok


def test_writes_cannot_nest_in_a_group_write(ws: Workspace) -> None:
    with ws.store.write(group=True):
        with pytest.raises(StoreError, match="already open"), ws.store.write():
            pass
        with pytest.raises(StoreError, match="already open"), ws.store.write(group=True):
            pass
    with (
        ws.store.write(),
        pytest.raises(StoreError, match="already open"),
        ws.store.write(group=True),
    ):
        pass
    assert ws.store.group_committer().joined == 0


def test_a_batch_that_cannot_start_fails_its_writers_and_the_next_one_starts_afresh(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ws.store._open_write
    calls: list[int] = []

    def locked_once() -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("the database stayed locked by another writer")
        return real()

    monkeypatch.setattr(ws.store, "_open_write", locked_once)
    with pytest.raises(StoreError, match="stayed locked"), ws.store.write(group=True) as tx:
        _fact(tx, 0)  # pragma: no cover - never runs
    assert ws.store.group_committer().joined == 0
    with ws.store.write(group=True) as tx:
        assert _fact(tx, 1) == 0
    assert checkpoint_sizes(ws) == [0, 1] and len(calls) == 2
