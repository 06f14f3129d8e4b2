"""Noncompliance reports: anonymity checked in the raw database, routing, findings, board update."""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from scaleguard.errors import InputError, NotFoundError
from scaleguard.incidents import noncompliance
from scaleguard.store import repo
from scaleguard.store.ledger.verify import verify
from scaleguard.workspace import init_workspace, open_workspace
from scaleguard.workspace.workspace import Workspace
from workspace_copies import Copy, new_lab

RECIPIENTS = """recipients:
  - {id: rso, name: Responsible Scaling Officer, is_rso: true}
  - {id: counsel, name: General Counsel, reports_to_rso: false}
  - {id: board-chair, name: Chair of the Board, board: true}
"""
DAY = date(2026, 11, 3)


@pytest.fixture
def ws(tmp_path: Path, workspace_copy: Copy) -> Iterator[Workspace]:
    workspace_copy("new lab", new_lab)
    workspace = open_workspace(tmp_path / "lab")
    (workspace.root / noncompliance.RECIPIENTS_FILE).write_text(RECIPIENTS)
    yield workspace
    workspace.close()


def ledger_size(ws: Workspace) -> int:
    with ws.store.read() as s:
        return repo.ledger_size(s)


def test_an_anonymous_report_stores_nothing_that_identifies_the_reporter(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = "reporter-" + uuid.uuid4().hex[:10]
    monkeypatch.setenv("SCALEGUARD_USER", user)
    monkeypatch.setenv("LOGNAME", user)
    monkeypatch.setenv("USER", user)
    monkeypatch.setenv("USERNAME", user)
    host = socket.gethostname()
    done = noncompliance.submit(
        ws,
        text="Evaluations for the last checkpoint were skipped.",
        recipients=["counsel"],
        anonymous=True,
        today=DAY,
    )
    noncompliance.follow_up(ws, done.token, message="More detail.", today=DAY)
    with ws.store.read() as s:
        rows = [dict(r._mapping) for r in s.execute(text("SELECT * FROM nc_reports"))]
        events = [dict(r._mapping) for r in s.execute(text("SELECT * FROM nc_events"))]
        entries = [
            dict(r._mapping) for r in s.execute(text("SELECT * FROM ledger_entries ORDER BY idx"))
        ]
    assert len(rows) == 1 and len(entries) == 2
    raw = repr(rows) + repr(events) + repr(entries)
    assert user not in raw
    if len(host) > 3:
        assert host not in raw
    assert rows[0]["reporter"] is None and rows[0]["created_by"] == "anonymous"
    assert rows[0]["created_at"] == "2026-11-03T00:00:00Z"
    assert events[0]["created_at"] == "2026-11-03T00:00:00Z"
    for entry in entries:
        assert entry["created_at"] == "2026-11-03T00:00:00Z"
        data = bytes(entry["data"])
        assert b'"time":"2026-11-03T00:00:00Z"' in data
        assert user.encode() not in data
    # the token is not stored, only its digest
    assert done.token not in raw and noncompliance.token_digest(done.token) in raw
    if ws.store.backend == "sqlite":
        for path in ws.root.glob("scaleguard.db*"):
            assert user.encode() not in path.read_bytes()
    assert verify(ws.store, ws.verifier(), full=True).ok


def test_routing_rules_for_recipients(ws: Workspace) -> None:
    before = ledger_size(ws)
    with pytest.raises(InputError, match="may not go to the RSO"):
        noncompliance.submit(
            ws, text="x", recipients=["rso", "board-chair"], anonymous=True, concerns_rso=True
        )
    with pytest.raises(InputError, match="must go to a board member"):
        noncompliance.submit(
            ws, text="x", recipients=["counsel"], anonymous=True, concerns_rso=True
        )
    with pytest.raises(InputError, match="unknown recipient"):
        noncompliance.submit(ws, text="x", recipients=["ceo"], anonymous=True)
    with pytest.raises(InputError, match="records no name"):
        noncompliance.submit(ws, text="x", recipients=["rso"], anonymous=True, reporter="ann")
    with pytest.raises(InputError, match="empty"):
        noncompliance.submit(ws, text="  ", recipients=["rso"], anonymous=True)
    assert ledger_size(ws) == before
    ok = noncompliance.submit(
        ws, text="x", recipients=["board-chair", "counsel"], anonymous=False, reporter="ann",
        concerns_rso=True,
    )  # fmt: skip
    assert ok.report.reporter == "ann"


def test_recipient_files_must_offer_independent_channels(tmp_path: Path) -> None:
    (tmp_path / noncompliance.RECIPIENTS_FILE).write_text(
        "recipients:\n"
        "  - {id: rso, name: RSO, is_rso: true}\n"
        "  - {id: dep, name: Deputy, reports_to_rso: true}\n"
    )
    with pytest.raises(InputError) as info:
        noncompliance.load_recipients(tmp_path)
    rendered = info.value.render()
    assert "independent of the RSO" in rendered and "no board member" in rendered
    assert re.search(rf"{re.escape(str(tmp_path))}/noncompliance.yaml:\d+:\d+", rendered)
    (tmp_path / noncompliance.RECIPIENTS_FILE).unlink()
    with pytest.raises(InputError, match="does not exist"):
        noncompliance.load_recipients(tmp_path)


def test_investigation_findings_and_the_quarterly_board_update(ws: Workspace) -> None:
    a = noncompliance.submit(ws, text="a", recipients=["counsel"], anonymous=True, today=DAY)
    b = noncompliance.submit(
        ws, text="b", recipients=["rso"], anonymous=False, reporter="bo", today=DAY
    )
    c = noncompliance.submit(
        ws, text="c", recipients=["board-chair"], anonymous=True, concerns_rso=True, today=DAY
    )
    ra, rb, rc = a.report.id, b.report.id, c.report.id
    with pytest.raises(InputError, match="needs the findings"):
        noncompliance.act(ws, ra, "close", by="inv", note="n")
    with pytest.raises(InputError, match="cannot escalate"):
        noncompliance.act(ws, ra, "escalate", by="inv", note="n")
    noncompliance.act(ws, ra, "triage", by="inv", today=DAY)
    noncompliance.act(ws, ra, "investigate", by="inv", today=DAY)
    noncompliance.act(
        ws, ra, "close", by="inv", note="Skipped evals confirmed.", substantiated=True,
        material_risk=True, today=DAY,
    )  # fmt: skip
    assert noncompliance.state(ws, ra).escalation_due
    noncompliance.act(ws, ra, "escalate", by="rso", note="Board told.", today=DAY)
    noncompliance.act(
        ws, rb, "close", by="inv", note="Not borne out.", substantiated=False,
        material_risk=False, today=DAY,
    )  # fmt: skip
    with pytest.raises(InputError, match="unsubstantiated"):
        noncompliance.act(
            ws, rc, "close", by="inv", note="n", substantiated=False, material_risk=True
        )
    update = noncompliance.quarterly(noncompliance.states(ws), "2026-Q4")
    counts = update["counts"]
    assert isinstance(counts, dict)
    assert counts["received"] == 3 and counts["covered"] == 3
    assert counts["substantiated"] == 1 and counts["unsubstantiated"] == 1
    assert counts["open"] == 1 and counts["escalated"] == 1 and counts["concerning_rso"] == 1
    md = noncompliance.quarterly_markdown(update)
    assert "bo" not in md.split("|")  # reporters are not named
    # follow-up by token shows the holder the status, and nothing else works without it
    st = noncompliance.follow_up(ws, a.token)
    assert st.status == "escalated"
    with pytest.raises(NotFoundError):
        noncompliance.follow_up(ws, "not-a-token")
    assert noncompliance.quarterly(noncompliance.states(ws), "2026-Q3")["counts"] == {
        "received": 0, "substantiated": 0, "unsubstantiated": 0, "open": 0, "material_risk": 0,
        "escalated": 0, "concerning_rso": 0, "anonymous": 0, "covered": 0,
    }  # fmt: skip
    with pytest.raises(InputError, match="not a quarter"):
        noncompliance.quarter_bounds("2026-Q5")


def _submitted_from_the_cli(tmp_path: Path, cli: Callable[..., object]) -> tuple[Path, str]:
    """A new workspace with one anonymous report submitted through the CLI, and its token."""
    root = tmp_path / "lab"
    init_workspace(root, name="lab").close()
    (root / noncompliance.RECIPIENTS_FILE).write_text(RECIPIENTS)
    r = cli(
        "noncompliance", "submit", "--workspace", root, "--anonymous", "--recipient", "counsel",
        "Safeguards were switched off early.", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    return root, json.loads(r.out)["token"]  # type: ignore[attr-defined]


def test_the_cli_flow(tmp_path: Path, cli: Callable[..., object]) -> None:
    root, token = _submitted_from_the_cli(tmp_path, cli)
    for args in (("triage", "1"), ("investigate", "1")):
        assert cli("noncompliance", *args, "--workspace", root).code == 0  # type: ignore[attr-defined]
    r = cli(
        "noncompliance", "close", "1", "--workspace", root, "--substantiated", "maybe",
        "--material-risk", "no", "--note", "n",
    )  # fmt: skip
    assert r.code == 2 and "yes or no" in r.err  # type: ignore[attr-defined]
    r = cli(
        "noncompliance", "close", "1", "--workspace", root, "--substantiated", "no",
        "--material-risk", "no", "--note", "Checked the logs.",
    )  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    r = cli("noncompliance", "follow-up", token, "--workspace", root, "--json")
    assert json.loads(r.out)["status"] == "closed"  # type: ignore[attr-defined]
    assert "text" not in json.loads(r.out)  # type: ignore[attr-defined]
    r = cli("noncompliance", "quarterly", "--workspace", root, "--quarter", "2026-Q4", "--json")
    assert r.code == 0, r.err  # type: ignore[attr-defined]


def test_a_follow_up_token_never_reads_as_an_option(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One random token in 64 began with '-', and the reporter's follow-up command then
    failed as an unknown option; the random part is forced to begin with '-' here."""
    import secrets

    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: "-x" + "A" * 30)
    root, token = _submitted_from_the_cli(tmp_path, cli)
    assert not token.startswith("-")
    r = cli("noncompliance", "follow-up", token, "--workspace", root, "--json")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert json.loads(r.out)["status"] == "received"  # type: ignore[attr-defined]


def test_an_older_token_that_begins_with_a_dash_goes_with_token(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens issued before the 'nc_' prefix could begin with '-': --token takes one as it
    is; the token is given once, as the argument or with --token."""
    import secrets

    monkeypatch.setattr(noncompliance, "TOKEN_PREFIX", "")
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: "-x" + "A" * 30)
    root, token = _submitted_from_the_cli(tmp_path, cli)
    assert token.startswith("-")
    follow = ("noncompliance", "follow-up", "--workspace", root, "--json")
    r = cli(*follow, token)
    assert r.code == 2 and "No such option" in r.err  # type: ignore[attr-defined]
    r = cli(*follow, "--token", token)
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert json.loads(r.out)["status"] == "received"  # type: ignore[attr-defined]
    r = cli(*follow, "--token", token, "--message", "One more thing.")
    assert [e["note"] for e in json.loads(r.out)["events"]][-1] == "One more thing."  # type: ignore[attr-defined]
    assert cli(*follow, "--", token).code == 0  # type: ignore[attr-defined]
    for extra in (("--token", token, "--", token), ()):
        r = cli(*follow, *extra)
        assert r.code == 2  # type: ignore[attr-defined]
        assert "as the argument or with --token" in r.err  # type: ignore[attr-defined]
        error = json.loads(r.out)["error"]  # type: ignore[attr-defined]
        assert error["type"] == "InputError" and error["exit_code"] == 2
        assert "--token" in error["message"]


def test_the_rso_cannot_handle_a_report_about_the_rso(ws: Workspace) -> None:
    done = noncompliance.submit(
        ws, text="The RSO signed off without the evaluations.", recipients=["board-chair"],
        anonymous=True, concerns_rso=True,
    )  # fmt: skip
    before = ledger_size(ws)
    for who in ("rso", "Responsible Scaling Officer"):
        with pytest.raises(InputError, match="may not handle it"):
            noncompliance.act(ws, done.report.id, "triage", by=who)
    assert ledger_size(ws) == before
    noncompliance.act(ws, done.report.id, "triage", by="board-chair")
    assert noncompliance.state(ws, done.report.id).status == "triaged"


def test_the_checkpoint_of_an_anonymous_submission_dates_it_no_finer_than_the_day(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    """Every write is signed in its own transaction; the checkpoint signed with an
    anonymous report carries the report's day, never the clock's time."""
    from scaleguard.workspace import open_workspace

    root = tmp_path / "lab"
    init_workspace(root, name="lab").close()
    (root / noncompliance.RECIPIENTS_FILE).write_text(RECIPIENTS)

    def latest_checkpoint_time() -> str:
        ws = open_workspace(root)
        try:
            with ws.store.read() as s:
                return str(
                    s.execute(text("SELECT created_at FROM ledger_checkpoints ORDER BY size DESC"))
                    .scalars()
                    .first()
                )
        finally:
            ws.close()

    r = cli("noncompliance", "submit", "--workspace", root, "--anonymous", "--recipient",
            "counsel", "text")  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert latest_checkpoint_time().endswith("T00:00:00Z")
    r = cli("noncompliance", "submit", "--workspace", root, "--as", "ann", "--recipient",
            "counsel", "text")  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert not latest_checkpoint_time().endswith("T00:00:00Z")  # a named report keeps its time
