"""Incidents through a real workspace on SQLite and PostgreSQL, and through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from scaleguard.errors import InputError, LedgerIntegrityError, NotFoundError
from scaleguard.incidents import service
from scaleguard.ledger.recheck import RECORD_TABLES
from scaleguard.store import repo
from scaleguard.store.ledger.verify import verify
from scaleguard.store.tables_incidents import INCIDENT_RECORD_KINDS
from scaleguard.workspace import init_workspace, open_workspace
from scaleguard.workspace.workspace import Workspace
from workspace_copies import Copy, new_lab

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DISCOVERED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def ws(tmp_path: Path, workspace_copy: Copy) -> Iterator[Workspace]:
    workspace_copy("new lab", new_lab)
    workspace = open_workspace(tmp_path / "lab")
    with workspace.store.write() as tx:
        repo.add_model(tx, name="aurora-3", own=True, status="deployed", created_by="t")
    yield workspace
    workspace.close()


def ledger_size(ws: Workspace) -> int:
    with ws.store.read() as s:
        return repo.ledger_size(s)


def test_incident_tables_are_registered_for_ledger_verification() -> None:
    assert INCIDENT_RECORD_KINDS.items() <= RECORD_TABLES.items()


def test_an_incident_from_opening_to_resolution(ws: Workspace) -> None:
    inc = service.open_incident(
        ws,
        title="Weights copied out",
        discovered=DISCOVERED,
        kinds=["weights-compromise", "bodily-injury"],
        models=["aurora-3"],
        imminent_risk=True,
        description="An intruder copied weights.",
        by="rso",
        now=NOW,
    )
    rows = service.clock(ws, as_of=NOW)
    ((_view, items),) = rows
    status = {(o.regime, o.group): o.status for o in items}
    assert status[("sb53", "imminent")] == "overdue"
    assert status[("sb53", "initial")] == "open"
    assert status[("raise", "-")] == "not_applicable"
    assert status[("eu-cop", "initial")] == "overdue"  # 5 days for a breach, from discovery

    service.update(ws, inc.id, determined=DISCOVERED + timedelta(days=2), by="rso", now=NOW)
    service.submit(
        ws,
        inc.id,
        regime="sb53",
        group="imminent",
        content=b"disclosure",
        at=DISCOVERED + timedelta(hours=30),
        by="rso",
        now=NOW,
    )
    first = service.submit(
        ws, inc.id, regime="sb53", group="initial", content=b"r1", at=NOW, by="rso", now=NOW
    )
    service.submit(
        ws,
        inc.id,
        regime="sb53",
        group="initial",
        content=b"r2",
        amends=first.id,
        by="rso",
        now=NOW,
    )
    ((_view, items),) = service.clock(ws, as_of=NOW)
    by_key = {(o.regime, o.group): o for o in items}
    assert by_key[("sb53", "imminent")].status == "late"
    assert by_key[("sb53", "initial")].status == "met"
    assert len(by_key[("sb53", "initial")].submissions) == 2
    # the determination moved the EU clock (awareness of involvement)
    assert by_key[("eu-cop", "initial")].deadline == DISCOVERED + timedelta(days=7)
    service.resolve(ws, inc.id, at=NOW, by="rso", now=NOW)
    assert service.load(ws, inc.id).status == "resolved"
    with pytest.raises(InputError, match="already resolved"):
        service.resolve(ws, inc.id, by="rso", now=NOW)
    report = verify(ws.store, ws.verifier(), full=True)
    assert report.ok, report


def test_bad_input_is_refused_and_nothing_is_written(ws: Workspace) -> None:
    before = ledger_size(ws)
    base = {"title": "t", "kinds": ["death"], "by": "x", "now": NOW}
    with pytest.raises(InputError, match="before discovered"):
        service.open_incident(
            ws, discovered=DISCOVERED, determined=DISCOVERED - timedelta(hours=1), **base
        )
    with pytest.raises(InputError, match="in the future"):
        service.open_incident(ws, discovered=NOW + timedelta(days=1), **base)
    with pytest.raises(InputError, match="unknown incident kind"):
        service.open_incident(ws, discovered=DISCOVERED, **{**base, "kinds": ["bad"]})
    with pytest.raises(NotFoundError):
        service.open_incident(ws, discovered=DISCOVERED, models=["no-such-model"], **base)
    assert ledger_size(ws) == before
    inc = service.open_incident(ws, discovered=DISCOVERED, **base)
    after = ledger_size(ws)
    with pytest.raises(NotFoundError, match="unknown regime"):
        service.submit(ws, inc.id, regime="mars", group="initial", content=b"x", by="x", now=NOW)
    with pytest.raises(InputError, match="no duty"):
        service.submit(ws, inc.id, regime="sb53", group="weekly", content=b"x", by="x", now=NOW)
    with pytest.raises(InputError, match="before discovery"):
        service.submit(
            ws,
            inc.id,
            regime="sb53",
            group="initial",
            content=b"x",
            at=DISCOVERED - timedelta(days=1),
            by="x",
            now=NOW,
        )
    with pytest.raises(InputError, match="before discovered"):
        service.update(ws, inc.id, determined=DISCOVERED - timedelta(days=1), by="x", now=NOW)
    with pytest.raises(NotFoundError, match="no incident 99"):
        service.update(ws, 99, note="n", by="x", now=NOW)
    assert ledger_size(ws) == after


def test_incident_rows_are_append_only(ws: Workspace) -> None:
    service.open_incident(ws, title="t", discovered=DISCOVERED, kinds=["death"], by="x", now=NOW)
    for statement in ("UPDATE incidents SET title = 'x'", "DELETE FROM incidents"):
        with pytest.raises(exc.DBAPIError), ws.store.write() as tx:
            tx.execute(text(statement))


def test_parse_time_needs_a_zone() -> None:
    assert service.parse_time("2026-11-20T09:00Z", "t") == DISCOVERED
    assert service.parse_time("2026-11-20T10:00+01:00", "t") == DISCOVERED
    assert service.parse_time("2026-11-20", "t") == datetime(2026, 11, 20, tzinfo=UTC)
    for bad in ("2026-11-20T09:00", "yesterday", "2026-13-01T00:00Z", ""):
        with pytest.raises(InputError):
            service.parse_time(bad, "t")


def test_the_cli_records_and_the_clock_exits_1_when_overdue(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    root = tmp_path / "lab"
    init_workspace(root, name="lab").close()
    run = cli
    r = run(
        "incidents", "open", "--workspace", root, "--title", "Model evaded monitoring",
        "--discovered", "2026-11-20T09:00Z", "--kind", "deceptive-subversion", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert json.loads(r.out)["kinds"] == ["deceptive-subversion"]  # type: ignore[attr-defined]
    r = run("incidents", "clock", "--workspace", root, "--as-of", "2026-11-21T09:00Z", "--json")
    assert r.code == 0  # type: ignore[attr-defined]
    data = json.loads(r.out)  # type: ignore[attr-defined]
    sb53 = next(o for o in data["obligations"] if o["regime"] == "sb53")
    assert sb53["deadline"] == "2026-12-05T09:00:00Z" and sb53["seconds_left"] == 14 * 86400
    r = run("incidents", "clock", "--workspace", root, "--as-of", "2026-12-06T00:00Z")
    assert r.code == 1 and "overdue" in r.out  # type: ignore[attr-defined]
    r = run(
        "incidents", "open", "--workspace", root, "--title", "x", "--discovered",
        "2026-11-20T09:00Z", "--determined", "2026-11-19T09:00Z", "--kind", "death",
    )  # fmt: skip
    assert r.code == 2 and "before discovered" in r.err  # type: ignore[attr-defined]
    report = tmp_path / "r.md"
    report.write_text("report")
    r = run("incidents", "submit", "1", "--workspace", root, "--regime", "nope", "--file", report)
    assert r.code == 2 and "unknown regime" in r.err  # type: ignore[attr-defined]
    r = run(
        "incidents", "submit", "1", "--workspace", root, "--regime", "sb53", "--file", report,
        "--at", "2026-11-25T09:00Z", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    r = run("incidents", "clock", "--workspace", root, "--as-of", "2026-12-06T00:00Z")
    assert r.code == 0  # type: ignore[attr-defined]


def test_a_database_admin_moving_the_discovery_time_is_caught(tmp_path: Path) -> None:
    """An admin without the key drops the append-only trigger and pushes a deadline back."""
    ws = init_workspace(tmp_path / "lab", name="lab")
    try:
        inc = service.open_incident(
            ws, title="t", discovered=DISCOVERED, kinds=["catastrophic-risk"], by="x", now=NOW
        )
        ws.checkpoint()
        assert verify(ws.store, ws.verifier(), full=True).ok
        with ws.store.write() as tx:
            tx.execute(text("DROP TRIGGER incidents_no_update"))
            tx.execute(
                text("UPDATE incidents SET discovered_at = '2026-11-25T09:00:00Z' WHERE id = :i"),
                {"i": inc.id},
            )
        with pytest.raises(LedgerIntegrityError, match="incidents row id 1 does not match"):
            service.clock(ws, as_of=NOW)  # no deadline is computed from the edited row
        report = verify(ws.store, ws.verifier(), full=True)
        assert not report.ok  # ... and the ledger shows it
    finally:
        ws.close()


def test_a_backdated_report_is_flagged(ws: Workspace) -> None:
    inc = service.open_incident(
        ws, title="t", discovered=DISCOVERED, kinds=["catastrophic-risk"], by="x", now=NOW
    )
    service.submit(
        ws, inc.id, regime="sb53", group="initial", content=b"r", by="x",
        at=DISCOVERED + timedelta(days=1), now=NOW,
    )  # fmt: skip
    ((_view, items),) = service.clock(ws, as_of=NOW)
    item = next(o for o in items if o.regime == "sb53" and o.group == "initial")
    assert item.status == "met"
    assert any("recorded" in n and "later" in n for n in item.notes)
