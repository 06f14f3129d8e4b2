"""A database administrator without the key edits incident rows; no clock is computed from them.

Regulators, the board and reporters rely on what ``incidents``,
``noncompliance`` and ``compliance`` say: a deadline, a report that met it, a
resolution, a monthly update owed to a reporter, a transparency report dated
before a release. The administrator drops (SQLite) or disables (PostgreSQL)
the append-only triggers, deletes, edits or inserts such rows and puts the
triggers back; the ledger entries are untouched. Every read that computes or
shows a clock proves its rows against what the key signed and counts them
against what the signer counted, so each such change is refused
(LedgerIntegrityError, exit 1, HTTP 500) and nothing is written. Each edit is
followed by a fresh process's view (nothing remembered), as a new command
would have. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import dba_sql
from scaleguard.errors import LedgerIntegrityError
from scaleguard.incidents import compliance, noncompliance, service
from scaleguard.store import repo
from scaleguard.store.ledger import rows
from scaleguard.store.ledger.census import census_path
from scaleguard.store.tables_incidents import INCIDENT_TABLES
from scaleguard.workspace import init_workspace, open_workspace
from scaleguard.workspace.workspace import Workspace
from workspace_copies import Copy

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DISCOVERED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)
RECIPIENTS = """recipients:
  - {id: rso, name: Responsible Scaling Officer, is_rso: true}
  - {id: counsel, name: General Counsel, reports_to_rso: false}
  - {id: board-chair, name: Chair of the Board, board: true}
"""
DELETED = "signed row was deleted"
EXTRA_TABLES = ("models", "frameworks_loaded")


def build(folder: Path, pg_url: str | None) -> dict[str, str]:
    """Incidents 1-4, noncompliance reports 1-2 and compliance records, all signed:

    * incident 1 (SB 53): its initial report sent a day after discovery (event 1): met;
    * incident 2: determined a day after discovery (event 2), then contained (event 3);
    * incident 3: resolved two days after discovery (event 4);
    * incident 4: nothing recorded since it was opened;
    * report 1 (anonymous): triaged, investigated, the reporter updated (events 1-3);
    * report 2 (named): closed substantiated with a material risk, escalated (events 4-5);
    * aurora-3 released on 2026-09-01, its transparency report dated 2026-08-30 (record 1);
      the board's quarterly update on 2026-10-01 (record 2).
    """
    ws = init_workspace(
        folder / "lab", db_url=pg_url or f"sqlite:///{folder / 'test.db'}", name="lab"
    )
    try:
        with ws.store.write() as tx:
            repo.add_model(
                tx, name="aurora-3", own=True, status="deployed", created_by="t",
                released_on=date(2026, 9, 1),
            )  # fmt: skip
        ws.use_framework("anthropic-rsp@3.0")

        def opened(title: str, *kinds: str) -> int:
            found = service.open_incident(
                ws, title=title, discovered=DISCOVERED, kinds=list(kinds), by="rso", now=NOW
            )
            return found.id

        first = opened("Model evaded its monitor", "deceptive-subversion")
        service.submit(
            ws, first, regime="sb53", group="initial", content=b"report",
            at=DISCOVERED + timedelta(days=1), by="rso", now=NOW,
        )  # fmt: skip
        second = opened("Weights copied out", "weights-compromise", "cybersecurity-breach")
        service.update(ws, second, determined=DISCOVERED + timedelta(days=1), by="rso", now=NOW)
        service.update(ws, second, status="contained", by="rso", now=NOW)
        third = opened("Loss of control in a sandbox", "loss-of-control", "bodily-injury")
        service.resolve(ws, third, at=DISCOVERED + timedelta(days=2), by="rso", now=NOW)
        opened("Catastrophic misuse", "catastrophic-risk")

        (ws.root / noncompliance.RECIPIENTS_FILE).write_text(RECIPIENTS)
        day = TODAY - timedelta(days=30)
        anonymous = noncompliance.submit(
            ws, text="Evaluations were skipped.", recipients=["counsel"], anonymous=True,
            today=day,
        )  # fmt: skip
        for action in ("triage", "investigate", "reporter-update"):
            noncompliance.act(ws, 1, action, by="counsel", note="told", today=day)
        noncompliance.submit(
            ws, text="The RSO signed off early.", recipients=["counsel", "board-chair"],
            anonymous=False, reporter="bo", today=day,
        )  # fmt: skip
        noncompliance.act(
            ws, 2, "close", by="counsel", note="it happened", substantiated=True,
            material_risk=True, today=day,
        )  # fmt: skip
        noncompliance.act(ws, 2, "escalate", by="counsel", today=day)

        compliance.record(
            ws, kind="transparency-report", subject="aurora-3", on=date(2026, 8, 30), by="rso"
        )
        compliance.record(
            ws, kind="board-quarterly-update", subject="2026-Q3", on=date(2026, 10, 1), by="rso"
        )
        return {"token": anonymous.token}
    finally:
        ws.close()


@pytest.fixture
def lab(tmp_path: Path, workspace_copy: Copy) -> Iterator[tuple[Workspace, str]]:
    meta = workspace_copy("incidents lab", build)
    rows.forget()
    with open_workspace(tmp_path / "lab") as workspace:
        yield workspace, meta["token"]


@pytest.fixture
def ws(lab: tuple[Workspace, str]) -> Workspace:
    return lab[0]


def as_dba(ws: Workspace, *statements: str) -> None:
    """SQL around the incident tables' append-only triggers (:func:`dba_sql.as_dba`)."""
    dba_sql.as_dba(ws, (*INCIDENT_TABLES, *EXTRA_TABLES), *statements)


def written(ws: Workspace) -> tuple[int, ...]:
    """The ledger's size and the row count of every incident table."""
    with ws.store.read() as s:
        counts = [
            int(s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in INCIDENT_TABLES
        ]
        return (repo.ledger_size(s), *counts)


def refused(ws: Workspace, action: Any, *args: Any, **kwargs: Any) -> str:
    """Run ``action``; it must raise LedgerIntegrityError (a server's fault: status 500) and
    write nothing. Its message."""
    before = written(ws)
    with pytest.raises(LedgerIntegrityError) as caught:
        action(ws, *args, **kwargs)
    assert written(ws) == before
    assert caught.value.status == 500
    assert "ledger verify --full" in caught.value.hint
    rows.forget()  # the next action starts as a new process would
    return caught.value.message


def cli_refuses(cli: Any, ws: Workspace, *args: str) -> dict[str, Any]:
    """``scaleguard ARGS --json`` exits 1 with the error envelope on stdout; the error."""
    result = cli(*args, "--workspace", ws.root, "--json")
    assert result.code == 1, result
    error: dict[str, Any] = json.loads(result.out)["error"]
    assert error["type"] == "LedgerIntegrityError" and error["exit_code"] == 1
    assert "ledger verify --full" in error["hint"]
    rows.forget()
    return error


# -- incidents -----------------------------------------------------------------------------


def test_a_deleted_incident_does_not_drop_out_of_the_clocks(ws: Workspace, cli: Any) -> None:
    as_dba(ws, "DELETE FROM incidents WHERE id = 4")
    assert DELETED in refused(ws, service.clock, as_of=NOW)
    assert refused(ws, service.load_all).startswith("refusing to list the incidents: incidents:")
    # asked for by its number, it is not "no incident 4": the key signed it
    message = refused(ws, service.load, 4)
    assert message.startswith("refusing to show incident 4: incidents: the ledger's key signed")
    assert "'incident' entry about '4'" in message
    assert DELETED in refused(ws, service.update, 4, note="later", by="rso", now=NOW)
    error = cli_refuses(cli, ws, "incidents", "clock", "--as-of", "2026-11-26T12:00Z")
    assert error["message"].startswith("refusing to compute the incident clocks: ")
    cli_refuses(cli, ws, "incidents", "list")
    result = cli("incidents", "list", "--workspace", ws.root)
    assert result.code == 1 and "1 signed row was deleted" in result.err, result


def test_a_deleted_report_does_not_reopen_a_met_deadline(ws: Workspace, cli: Any) -> None:
    """Incident 1's SB 53 report deleted: the duty it met would look open, then overdue."""
    as_dba(ws, "DELETE FROM incident_events WHERE id = 1")
    message = refused(ws, service.load, 1)
    assert "'incident-event' entry about '1'" in message and DELETED in message
    assert DELETED in refused(ws, service.clock, as_of=NOW)
    assert DELETED in refused(
        ws, service.submit, 1, regime="sb53", group="initial", content=b"again", by="rso", now=NOW
    )
    error = cli_refuses(cli, ws, "incidents", "show", "1")
    assert error["message"].startswith("refusing to show incident 1: incident_events:")


@pytest.mark.parametrize(
    ("event", "incident", "again"),
    [
        # the determination: RAISE and Code of Practice clocks run from it
        (2, 2, {"determined": DISCOVERED + timedelta(days=3)}),
        # the resolution: the final report's clock runs from it
        (4, 3, {"note": "reopened"}),
    ],
    ids=["determination", "resolution"],
)
def test_a_deleted_event_that_started_a_clock_is_refused(
    ws: Workspace, event: int, incident: int, again: dict[str, Any]
) -> None:
    as_dba(ws, f"DELETE FROM incident_events WHERE id = {event}")
    assert DELETED in refused(ws, service.load, incident)
    assert DELETED in refused(ws, service.clock, as_of=NOW)
    # nor can it be recorded again, at another time
    message = refused(ws, service.update, incident, by="rso", now=NOW, **again)
    assert message.startswith(f"refusing to update incident {incident}: ")
    message = refused(ws, service.resolve, incident, at=NOW, by="rso", now=NOW)
    assert message.startswith(f"refusing to resolve incident {incident}: ")


@pytest.mark.parametrize(
    ("statement", "row", "incident"),
    [
        # discovered five days later: every deadline five days later
        (
            "UPDATE incidents SET discovered_at = '2026-11-25T09:00:00Z' WHERE id = 1",
            "incidents row id 1",
            1,
        ),
        # the report claimed sent before it was
        (
            "UPDATE incident_events SET at = '2026-11-20T10:00:00Z' WHERE id = 1",
            "incident_events row id 1",
            1,
        ),
        # a forged resolution of incident 4, over the signed entry of the incident itself
        (
            "INSERT INTO incident_events (id, incident_id, action, status, note, at, regime, "
            "obligation, sha256, amends, details, created_at, created_by, ledger_index) "
            "SELECT 9, id, 'resolve', 'resolved', NULL, '2026-11-21T09:00:00Z', NULL, NULL, "
            "NULL, NULL, '{}', created_at, created_by, ledger_index FROM incidents WHERE id = 4",
            "incident_events row id 9",
            4,
        ),
    ],
    ids=["discovery-time", "report-time", "forged-resolution"],
)
def test_an_edited_or_forged_time_moves_no_deadline(
    ws: Workspace, cli: Any, statement: str, row: str, incident: int
) -> None:
    as_dba(ws, statement)
    assert row in refused(ws, service.clock, as_of=NOW)
    assert row in refused(ws, service.load_all)
    assert row in refused(ws, service.load, incident)
    assert row in cli_refuses(cli, ws, "incidents", "show", str(incident))["message"]
    result = cli("incidents", "report", str(incident), "--regime", "sb53", "--workspace", ws.root)
    assert result.code == 1 and row in result.err, result


# -- noncompliance reports ----------------------------------------------------------------


def test_a_deleted_reporter_update_is_refused(lab: tuple[Workspace, str], cli: Any) -> None:
    """Report 1's update to its reporter deleted: one would look owed (or overdue)."""
    ws, token = lab
    as_dba(ws, "DELETE FROM nc_events WHERE id = 3")
    message = refused(ws, noncompliance.states)
    assert message.startswith("refusing to list the noncompliance reports: nc_events:")
    assert DELETED in refused(ws, noncompliance.state, 1)
    assert DELETED in refused(
        ws, noncompliance.act, 1, "reporter-update", by="counsel", note="again"
    )
    assert DELETED in refused(ws, noncompliance.follow_up, token)
    assert DELETED in cli_refuses(cli, ws, "noncompliance", "list")["message"]


def test_a_deleted_escalation_cannot_be_made_again_or_left_out(ws: Workspace, cli: Any) -> None:
    as_dba(ws, "DELETE FROM nc_events WHERE id = 5")
    message = refused(ws, noncompliance.act, 2, "escalate", by="counsel")
    assert message.startswith("refusing to escalate noncompliance report 2: nc_events:")
    cli_refuses(cli, ws, "noncompliance", "quarterly", "--quarter", "2026-Q4")
    assert DELETED in refused(ws, compliance.status, as_of=TODAY)


def test_a_deleted_report_is_refused_to_its_reporter(lab: tuple[Workspace, str]) -> None:
    ws, token = lab
    as_dba(ws, "DELETE FROM nc_events WHERE report_id = 1", "DELETE FROM nc_reports WHERE id = 1")
    # not "no report has this follow-up token": the key signed the report
    message = refused(ws, noncompliance.follow_up, token)
    assert message.startswith("refusing to follow up on a noncompliance report: nc_reports:")
    assert DELETED in refused(ws, noncompliance.states)


def test_an_anonymous_report_made_to_look_named_records_no_exact_time(
    lab: tuple[Workspace, str],
) -> None:
    """Flipping ``anonymous`` would date the reporter's next message to the second."""
    ws, token = lab
    as_dba(ws, "UPDATE nc_reports SET anonymous = false WHERE id = 1")
    message = refused(ws, noncompliance.follow_up, token, message="more detail")
    assert "nc_reports row id 1 does not match its signed ledger entry" in message


# -- compliance records -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "found"),
    [
        ("DELETE FROM compliance_records WHERE id = 1", DELETED),
        ("UPDATE compliance_records SET on_date = '2026-08-01' WHERE id = 2", "row id 2"),
        ("UPDATE models SET released_on = '2026-08-31' WHERE name = 'aurora-3'", "models row"),
        ("DELETE FROM frameworks_loaded", DELETED),
    ],
    ids=["deleted-transparency-report", "backdated-board-update", "release-date", "framework"],
)
def test_compliance_status_refuses_changed_records(
    ws: Workspace, cli: Any, statement: str, found: str
) -> None:
    as_dba(ws, statement)
    message = refused(ws, compliance.status, as_of=TODAY)
    assert message.startswith("refusing to compute the compliance status: ") and found in message
    assert found in cli_refuses(cli, ws, "compliance", "status")["message"]


# -- nothing changed ------------------------------------------------------------------------


def test_honest_records_are_read_by_a_fresh_process(lab: tuple[Workspace, str]) -> None:
    """Nothing edited: every read and write above, from a process that proved nothing and
    whose census file is gone (counted again from the ledger)."""
    ws, token = lab
    census_path(ws.ledger_state_path).unlink()
    rows.forget()
    status = {v.incident.id: v.status for v in service.load_all(ws)}
    assert status == {1: "open", 2: "contained", 3: "resolved", 4: "open"}
    clocks = {
        (v.incident.id, o.regime, o.group): o.status for v, items in service.clock(ws, as_of=NOW)
        for o in items
    }  # fmt: skip
    assert clocks[(1, "sb53", "initial")] == "met"
    assert service.load(ws, 2).facts.determined_at == DISCOVERED + timedelta(days=1)
    rows.forget()
    service.submit(ws, 4, regime="sb53", group="initial", content=b"r", by="rso", now=NOW)
    service.resolve(ws, 2, at=NOW, by="rso", now=NOW)
    assert service.load(ws, 2).status == "resolved"

    rows.forget()
    assert [s.status for s in noncompliance.states(ws)] == ["investigating", "escalated"]
    assert noncompliance.follow_up(ws, token, message="one more thing").status == "investigating"
    noncompliance.act(ws, 1, "close", by="counsel", note="fixed", substantiated=False,
                      material_risk=False)  # fmt: skip
    assert noncompliance.state(ws, 1).status == "closed"
    rows.forget()
    duties = {d.duty: d.state for d in compliance.status(ws, as_of=TODAY)}
    assert duties["transparency-report"] == "met"
