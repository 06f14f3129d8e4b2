"""Full verification in spans and worker processes: same findings, no false alarms.

Spans are made tiny (``span_level=2``: four entries each) so that a small
ledger spreads over many spans and both workers get some.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.ledger import entry_bytes, leaf_hash
from scaleguard.ledger.recheck import RowLayout
from scaleguard.ledger.report import MAX_FINDINGS, VerifyReport
from scaleguard.store import repo
from scaleguard.store.ledger.verify import verify
from scaleguard.workspace import Workspace, open_workspace
from test_ledger_store import json_values, populate
from test_ledger_tamper import attack, entry_of, rebuild_tree, rewritten, set_entry, sql
from workspace_copies import LABELS, Copy, copied_workspace

Cli = Callable[..., Any]


def _populated(ws: Workspace) -> dict[str, int]:
    labels = populate(ws)
    for i, value in enumerate([1e-7, 1e21, 2**53 - 1, -0.5, True, 3.0]):
        with ws.store.write() as tx:  # numbers the C encoder writes unlike RFC 8785
            labels[f"odd{i}"] = repo.add_fact(
                tx, name=f"odd-{i}", value=value, source="https://s", asserted_by="t"
            ).ledger_index
    ws.checkpoint()
    for workers in (1, 2):
        report = verify(ws.store, ws.verifier(), full=True, workers=workers, span_level=2)
        assert report.ok, [d.render() for d in report.discrepancies]
    return labels


@pytest.fixture
def ws(request: pytest.FixtureRequest, workspace_copy: Copy) -> Iterator[Workspace]:
    """A workspace of the test's own: with _populated's records if the test takes ``at``."""
    with open_workspace(copied_workspace(request, workspace_copy, "Span Lab", _populated)) as w:
        yield w


@pytest.fixture
def at(request: pytest.FixtureRequest, ws: Workspace) -> dict[str, int]:
    return request.node.stash[LABELS]


def findings(report: VerifyReport) -> list[dict[str, object]]:
    return [d.as_json() for d in report.discrepancies]


def test_one_and_two_workers_report_the_same_first_bad_entry(
    ws: Workspace, at: dict[str, int]
) -> None:
    fact, model, decision = at["fact"], at["model"], at["decision"]
    assert model < fact < decision
    attack(
        ws,
        # a canonical entry with a changed record, its leaf hash recomputed
        *set_entry(fact, rewritten(ws, fact, value=12345)),
        # bytes that are not canonical JSON, the leaf hash left alone
        *set_entry(model, entry_of(ws, model).replace(b",", b", ", 1), leaf=False),
        sql("DELETE FROM decisions WHERE ledger_index = :i", i=decision),
        sql("UPDATE facts SET asserted_by = 'mallory' WHERE ledger_index = :i", i=at["odd1"]),
        sql("DELETE FROM ledger_nodes WHERE level = 1 AND idx = 2"),
        sql("INSERT INTO ledger_nodes (level, idx, hash) VALUES (0, 999999, :h)", h=b"x" * 32),
    )
    one = verify(ws.store, ws.verifier(), full=True, workers=1, span_level=2)
    two = verify(ws.store, ws.verifier(), full=True, workers=2, span_level=2)
    whole = verify(ws.store, ws.verifier(), full=True, workers=1)  # a single span
    assert two.workers == 2 and one.workers == 1
    assert findings(one) == findings(two) == findings(whole)
    assert one.total_found == two.total_found == whole.total_found
    assert (one.entries, one.nodes, one.records) == (two.entries, two.nodes, two.records)
    assert one.first is not None and two.first is not None
    assert one.first.index == two.first.index == model  # the earliest of the changes
    rendered = "\n".join(d.render() for d in two.discrepancies)
    assert f"entry {model}: ledger_entries idx {model}: stored leaf hash" in rendered
    assert "bytes are not a canonical entry" in rendered
    assert f"entry {decision}: decisions" in rendered
    assert f"entry {at['odd1']}: facts" in rendered
    assert "level 0 idx 999999" in rendered


def test_a_non_canonical_entry_its_row_agrees_with_is_still_found(
    ws: Workspace, at: dict[str, int]
) -> None:
    """The row-and-entry comparison never vouches for bytes RFC 8785 would not write."""
    index = at["odd5"]  # the fact whose value is 3.0, written canonically as 3
    canonical = entry_of(ws, index)
    assert b'"value":3}' in canonical
    for n, spelled in enumerate((b'"value":3.0}', b'"value":3e0}', b'"value": 3}')):
        loose = canonical.replace(b'"value":3}', spelled)
        attack(ws, *set_entry(index, loose))
        attack(ws, *rebuild_tree(ws))
        for workers in (1, 2) if n == 0 else (1,):  # a pool answers the same (tested above)
            report = verify(ws.store, ws.verifier(), full=True, workers=workers, span_level=3)
            assert report.first is not None and report.first.index == index
            assert "bytes are not a canonical entry" in report.first.message
        attack(ws, *set_entry(index, canonical))
        attack(ws, *rebuild_tree(ws))
        assert verify(ws.store, ws.verifier(), full=True, span_level=3).ok


def test_appends_while_verifying_are_not_reported(ws: Workspace, at: dict[str, int]) -> None:
    stop = threading.Event()
    appended = 0

    def writer() -> None:  # bounded, so that the ledger (and each check) stays small
        nonlocal appended
        while not stop.is_set() and appended < 100:
            with ws.store.write() as tx:
                repo.add_fact(tx, name=f"late-{appended}", value=1, source="s", asserted_by="t")
            appended += 1

    thread = threading.Thread(target=writer)
    thread.start()
    while appended == 0 and thread.is_alive():  # the checks start while it writes
        thread.join(0.001)
    try:
        reports = [
            verify(ws.store, ws.verifier(), full=True, workers=2, span_level=3) for _ in range(3)
        ]
    finally:
        stop.set()
        thread.join()
    assert appended > 0
    for report in reports:
        assert report.ok, [d.render() for d in report.discrepancies]
    assert verify(ws.store, ws.verifier(), full=True, span_level=3).ok


def test_verify_json_reports_throughput(ws: Workspace, cli: Cli) -> None:
    for i in range(3):
        with ws.store.write() as tx:
            repo.add_fact(tx, name=f"f{i}", value=i * 0.5, source="https://s", asserted_by="t")
    result = cli("ledger", "verify", "--full", "--workers", "2", "--json", "--workspace", ws.root)
    assert result.code == 0, result.out
    speed = json.loads(result.out)["throughput"]
    assert set(speed) == {"seconds", "entries_per_s", "mb_per_s", "workers"}
    assert speed["seconds"] > 0 and speed["entries_per_s"] > 0 and speed["mb_per_s"] >= 0
    assert speed["workers"] == 1  # one span of entries: no reason to start processes
    text = cli("ledger", "verify", "--full", "--workers", "1", "--workspace", ws.root)
    assert text.code == 0 and "entries/s" in text.out and "1 worker(s)" in text.out
    refused = cli("ledger", "verify", "--full", "--workers", "0", "--workspace", ws.root)
    assert refused.code != 0 and "Traceback" not in refused.err


# -- the row-built bytes are canonical whenever they are produced -------------------------


@settings(max_examples=150, deadline=None)
@given(
    record=st.dictionaries(st.text(max_size=6), json_values, max_size=5),
    micro=st.integers(0, 999_999),
)
def test_bytes_built_from_a_row_are_exactly_the_canonical_entry(
    record: dict[str, Any], micro: int
) -> None:
    moment = datetime(2026, 5, 1, 12, 0, 0, micro, tzinfo=UTC)
    canonical = entry_bytes("fact", moment, record)
    time_text = json.loads(canonical)["time"]
    names = [*record, "at_time", "ledger_index"]
    if len(set(names)) != len(names):
        return
    layout = RowLayout("fact", "at_time", names, {})
    built = layout.entry_bytes((*record.values(), time_text, 7))
    assert built is None or built == canonical


def test_row_keys_are_ordered_as_rfc8785_orders_them() -> None:
    """By UTF-16 code units: U+10000 (D800 DC00) comes before U+E000."""
    record = {"\ue000": None, "\U00010000": None}
    canonical = entry_bytes("fact", datetime(2026, 5, 1, 12, tzinfo=UTC), record)
    layout = RowLayout("fact", "at_time", [*record, "at_time", "ledger_index"], {})
    built = layout.entry_bytes((None, None, "2026-05-01T12:00:00Z", 7))
    assert built == canonical


def test_plain_rows_take_the_quick_route() -> None:
    """The property above is not vacuous: ordinary rows do get bytes built."""
    record = {"id": 4, "name": "f3", "value": 1.5, "model": None, "ok": True, "s": "é\n"}
    canonical = entry_bytes("fact", datetime(2026, 1, 1, tzinfo=UTC), record)
    layout = RowLayout("fact", "at_time", [*record, "at_time", "ledger_index"], {})
    assert layout.entry_bytes((*record.values(), "2026-01-01T00:00:00Z", 3)) == canonical
    assert leaf_hash(canonical) != leaf_hash(canonical + b" ")


def test_past_the_cap_the_earliest_findings_are_kept() -> None:
    """However findings arrive (spans, tables, passes), the first one shown is the earliest."""
    report = VerifyReport(full=True, size=0)
    for index in range(3 * MAX_FINDINGS, 0, -1):
        report.add(index, "facts", f"id {index}", "fields differ")
    report.add(None, "ledger_checkpoints", "size 9", "bad signature")
    report.finish()
    assert report.total_found == 3 * MAX_FINDINGS + 1
    assert len(report.discrepancies) == MAX_FINDINGS
    assert [d.index for d in report.discrepancies] == list(range(1, MAX_FINDINGS + 1))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_full_check_reports_progress_span_by_span(
    ws: Workspace, at: dict[str, int], workers: int
) -> None:
    """The progress callback (the CLI's bar) climbs to the tree size, never backwards."""
    seen: list[tuple[str, int, int]] = []
    report = verify(
        ws.store,
        ws.verifier(),
        full=True,
        workers=workers,
        span_level=2,
        progress=lambda phase, done, total: seen.append((phase, done, total)),
    )
    assert report.ok
    size = max(at.values()) + 1
    assert {phase for phase, _, _ in seen} == {"entries"}  # no evidence folder given here
    assert len(seen) == -(-size // 4)  # one call per span of 4 entries
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)
    assert seen[-1] == ("entries", size, size)


def test_a_full_check_reports_the_evidence_files_it_hashes(lab: Workspace) -> None:
    """After the entries, hashing every evidence file is reported too, file by file."""
    seen: list[tuple[str, int, int]] = []
    report = lab.verify_ledger(
        full=True, workers=1, progress=lambda phase, done, total: seen.append((phase, done, total))
    )
    assert report.ok and report.artifacts > 0
    files = [(done, total) for phase, done, total in seen if phase == "evidence files"]
    assert files == [(n, report.artifacts) for n in range(1, report.artifacts + 1)]
    assert [phase for phase, _, _ in seen].index("evidence files") > 0  # after the entries


def test_a_span_that_cannot_be_checked_is_one_finding_not_a_cascade(
    ws: Workspace, at: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without every span there is no tree to compare stored hashes and checkpoint roots
    with; checking them anyway would report each of them as wrong."""
    from scaleguard.store.ledger import parallel

    def unreadable(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("a cell of an unexpected type")

    monkeypatch.setattr(parallel, "check_span", unreadable)
    report = verify(ws.store, ws.verifier(), full=True, workers=1, span_level=2)
    assert not report.ok
    assert [d.message for d in report.discrepancies] == [
        "holds a value verification cannot read: a cell of an unexpected type"
    ]
