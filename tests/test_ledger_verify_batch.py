"""Batch-at-a-time verification says exactly what row-by-row verification says.

Full verification takes a batch of entries, record rows or subtree hashes at
once when it can prove the whole batch, and otherwise goes row by row. These
tests pin that the two routes agree, and that the batch route refuses what it
must (bytes moved between stored hashes, rows that differ from their entry).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.ledger import entry_bytes
from scaleguard.ledger.recheck import RowLayout
from scaleguard.ledger.rowbatch import BatchLayout
from scaleguard.store.ledger import scan
from scaleguard.store.ledger.reader import json_cell
from scaleguard.store.ledger.verify import verify
from scaleguard.workspace import Workspace
from test_ledger_store import json_values
from test_ledger_tamper import attack, entry_of, rewritten, set_entry, sql
from test_ledger_verify_parallel import at, findings, ws

__all__ = ["at", "ws"]  # fixtures shared with the span tests


def _both_routes(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    quick = verify(ws.store, ws.verifier(), full=True, workers=1, span_level=3)
    with monkeypatch.context() as m:
        m.setattr(scan, "_entry_batch", lambda *a: False)
        m.setattr(scan, "_row_batch", lambda *a: False)
        slow = verify(ws.store, ws.verifier(), full=True, workers=1, span_level=3)
    return quick, slow


def test_an_intact_ledger_is_proven_by_the_batch_route(
    ws: Workspace, at: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[bool] = []
    real = scan._row_batch

    def spy(*args: Any) -> bool:
        taken.append(real(*args))
        return taken[-1]

    monkeypatch.setattr(scan, "_row_batch", spy)
    report = verify(ws.store, ws.verifier(), full=True, workers=1)
    assert report.ok and any(taken)


def test_the_batch_route_and_the_row_route_report_the_same(
    ws: Workspace, at: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fact, model, decision = at["fact"], at["model"], at["decision"]
    attack(
        ws,
        *set_entry(fact, rewritten(ws, fact, value=12345)),
        *set_entry(model, entry_of(ws, model).replace(b",", b", ", 1), leaf=False),
        sql("DELETE FROM decisions WHERE ledger_index = :i", i=decision),
        sql("UPDATE facts SET asserted_by = 'mallory' WHERE ledger_index = :i", i=at["odd1"]),
        # a row claiming an entry another table's row already holds
        sql("UPDATE facts SET ledger_index = :j WHERE ledger_index = :i", i=at["odd2"], j=model),
        sql("UPDATE ledger_entries SET leaf_hash = :h WHERE idx = :i", h=b"y" * 32, i=at["odd4"]),
        sql("DELETE FROM ledger_nodes WHERE level = 1 AND idx = 2"),
    )
    quick, slow = _both_routes(ws, monkeypatch)
    assert not quick.ok
    assert findings(quick) == findings(slow)
    assert quick.total_found == slow.total_found
    assert (quick.entries, quick.nodes, quick.records) == (slow.entries, slow.nodes, slow.records)
    messages = " ".join(d.message for d in quick.discrepancies)
    assert "not a fact entry" in messages and "stored leaf hash" in messages


def test_bytes_moved_between_two_stored_hashes_are_found(
    ws: Workspace, at: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashes of 31 and 33 bytes still join to the right string; each must be 32 bytes."""
    with ws.store.read() as s:
        rows = s.connection().exec_driver_sql(
            "SELECT idx, hash FROM ledger_nodes WHERE level = 1 AND idx IN (0, 1) ORDER BY idx"
        )
        (_, first), (_, second) = [(i, bytes(h)) for i, h in rows]
    attack(
        ws,
        sql("UPDATE ledger_nodes SET hash = :h WHERE level = 1 AND idx = 0", h=first[:31]),
        sql(
            "UPDATE ledger_nodes SET hash = :h WHERE level = 1 AND idx = 1",
            h=first[31:] + second,
        ),
    )
    quick, slow = _both_routes(ws, monkeypatch)
    assert not quick.ok
    assert findings(quick) == findings(slow)
    first_bad = quick.discrepancies[0]
    assert (first_bad.table, first_bad.index) == ("ledger_nodes", 0)
    assert "differs" in first_bad.message


# -- the batch writer gives exactly the row writer's bytes ----------------------------

_cells = st.one_of(
    json_values,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**60), 2**60),
    st.sampled_from(["1.5", "[1, 2]", '{"b": 1, "a": null}', "nope", "1e400", "\ud800"]),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.tuples(_cells, _cells, _cells), min_size=1, max_size=6),
    micro=st.integers(0, 999_999),
)
def test_a_batch_is_written_exactly_as_its_rows_are(
    rows: list[tuple[Any, Any, Any]], micro: int
) -> None:
    """Column 'j' is read as a JSON column is (json_cell), 'p' through a plain processor."""
    moment = datetime(2026, 5, 1, 12, 0, 0, micro, tzinfo=UTC)
    time_text = json.loads(entry_bytes("fact", moment, {}))["time"]
    names = ["a", "j", "p", "at_time", "ledger_index"]
    layout = RowLayout("fact", "at_time", names, {"j": json_cell(json.loads), "p": str.upper})
    full = [(*row, time_text, k) for k, row in enumerate(rows)]
    one_by_one = [layout.entry_bytes(row) for row in full]
    batch = BatchLayout(layout)
    for _ in range(2):  # the second time through the memos
        built = batch.entry_bytes(list(zip(*full, strict=True)))
        if None in one_by_one:
            assert built is None
        else:
            assert built == one_by_one
