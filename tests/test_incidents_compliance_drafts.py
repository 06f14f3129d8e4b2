"""Compliance status from the framework history and records; report drafts per regime."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from scaleguard.errors import InputError
from scaleguard.incidents import compliance, drafts, regimes, service
from scaleguard.store import repo
from scaleguard.workspace import init_workspace
from scaleguard.workspace.workspace import Workspace

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _lab(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "lab", name="lab")
    for ref in ("anthropic-rsp@3.0", "anthropic-rsp@3.1", "anthropic-rsp@3.4"):
        ws.use_framework(ref)
    with ws.store.write() as tx:
        repo.add_model(
            tx, name="aurora-3", own=True, status="deployed", created_by="t",
            released_on=date(2026, 9, 1),
        )  # fmt: skip
        repo.add_model(
            tx, name="aurora-4", own=True, status="deployed", created_by="t",
            released_on=date(2026, 10, 1),
        )  # fmt: skip
        repo.add_model(tx, name="rival", own=False, status="released", created_by="t")
    return ws


def by(duties: list[compliance.Duty], duty: str, subject: str) -> compliance.Duty:
    return next(d for d in duties if d.duty == duty and d.subject == subject)


def test_compliance_status_from_history_and_records(tmp_path: Path) -> None:
    ws = _lab(tmp_path)
    try:
        assert [a.ref for a in compliance.history(ws)] == [
            "anthropic-rsp@3.0",
            "anthropic-rsp@3.1",
            "anthropic-rsp@3.4",
        ]
        kw = {"by": "rso"}
        compliance.record(ws, kind="framework-published", subject="anthropic-rsp@3.1",
                          on=date(2026, 4, 2), **kw)  # fmt: skip
        compliance.record(ws, kind="framework-published", subject="anthropic-rsp@3.4",
                          on=date(2026, 8, 20), **kw)  # fmt: skip
        compliance.record(ws, kind="transparency-report", subject="aurora-3",
                          on=date(2026, 9, 1), **kw)  # fmt: skip
        compliance.record(ws, kind="transparency-report", subject="aurora-4",
                          on=date(2026, 10, 3), **kw)  # fmt: skip
        duties = compliance.status(ws, as_of=date(2026, 11, 26))
        review = by(duties, "framework-review", "anthropic-rsp@3.4")
        assert review.last == date(2026, 7, 8) and review.due == date(2027, 7, 8)
        assert review.state == "open"
        changes = {d.subject: d for d in duties if d.duty == "framework-change-publication"}
        # 3.0 -> 3.1 neither weakened nor strengthened anything: no duty
        assert changes["anthropic-rsp@3.1"].state == "not_applicable"
        # 3.1 -> 3.4 strengthened; published 43 days after 2026-07-08 (30 allowed)
        assert changes["anthropic-rsp@3.4"].state == "late"
        assert changes["anthropic-rsp@3.4"].due == date(2026, 8, 7)
        assert by(duties, "transparency-report", "aurora-3").state == "met"
        assert by(duties, "transparency-report", "aurora-4").state == "late"
        assert not [d for d in duties if d.subject == "rival"]
        assert by(duties, "internal-use-summary", "-").state == "overdue"  # never sent
        later = compliance.status(ws, as_of=date(2027, 7, 9))
        assert by(later, "framework-review", "anthropic-rsp@3.4").state == "overdue"
        with pytest.raises(InputError, match="unknown record kind"):
            compliance.record(ws, kind="memo", subject="x", on=date(2026, 1, 1), **kw)
        with pytest.raises(InputError, match="future"):
            compliance.record(ws, kind="framework-review", subject="x", on=date(2099, 1, 1), **kw)
    finally:
        ws.close()


def test_a_draft_fills_the_regime_fields_and_marks_what_is_missing(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "lab", name="lab")
    try:
        inc = service.open_incident(
            ws, title="Loss of control", discovered=datetime(2026, 11, 20, 9, tzinfo=UTC),
            kinds=["loss-of-control", "bodily-injury"], internal_use=True, by="rso", now=NOW,
        )  # fmt: skip
        (sb53,) = regimes.select(regimes.load_regimes(ws.root), ["sb53"])
        v = service.load(ws, inc.id)
        draft = drafts.make_draft(v, sb53, developer="lab", as_of=NOW)
        fields = {f.id: f for f in draft.fields}
        assert fields["date"].value == "2026-11-20T09:00:00Z"
        assert (
            "Loss of control" in fields["reasons"].value
            and "§22757.11(d)(3)" in fields["reasons"].value
        )
        assert fields["internal-use"].value == "yes"
        assert fields["statement"].missing and fields["statement"].value.startswith("MISSING")
        md = drafts.to_markdown(draft)
        assert "Office of Emergency Services" in md and "2026-12-05T09:00:00Z" in md
        data = json.loads(drafts.to_json(draft))
        assert data["draft"] is True and data["regime"]["id"] == "sb53"
        assert drafts.to_json(draft) == drafts.to_json(
            drafts.make_draft(v, sb53, developer="lab", as_of=NOW)
        )
        pdf = drafts.to_pdf(draft)
        text = " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "Office of Emergency Services" in " ".join(text.split())
        assert pdf == drafts.to_pdf(draft)  # reproducible bytes
    finally:
        ws.close()


def test_report_and_submit_through_the_cli(tmp_path: Path, cli: Callable[..., object]) -> None:
    root = tmp_path / "lab"
    init_workspace(root, name="lab").close()
    r = cli(
        "incidents", "open", "--workspace", root, "--title", "Weights exfiltrated",
        "--discovered", "2026-11-20T09:00Z", "--kind", "weights-compromise",
        "--description", "Copied out.",
    )  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    out = tmp_path / "draft.json"
    r = cli("incidents", "report", "1", "--workspace", root, "--regime", "eu-cop", "--format",
            "json", "--out", out)  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert json.loads(out.read_text())["regime"]["id"] == "eu-cop"
    r = cli("incidents", "report", "1", "--workspace", root, "--regime", "eu", "--format", "json")
    assert r.code == 2 and "unknown regime" in r.err  # type: ignore[attr-defined]
    r = cli("incidents", "report", "1", "--workspace", root, "--regime", "sb53", "--format", "pdf")
    assert r.code == 2 and "--out" in r.err  # type: ignore[attr-defined]
    r = cli("incidents", "submit", "1", "--workspace", root, "--regime", "eu-cop", "--file", out,
            "--at", "2026-11-22T09:00Z", "--json")  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    import hashlib

    assert json.loads(r.out)["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()  # type: ignore[attr-defined]
    r = cli("compliance", "status", "--workspace", root, "--json")
    assert r.code in (0, 1) and isinstance(json.loads(r.out), list)  # type: ignore[attr-defined]


def test_the_demo_act_runs_and_leaves_a_verified_ledger(tmp_path: Path) -> None:
    from rich.console import Console

    from scaleguard.demo.incidents import add_to_demo
    from scaleguard.store.ledger.verify import verify

    ws = init_workspace(tmp_path / "lab", name="lab")
    try:
        with ws.store.write() as tx:
            repo.add_model(tx, name="aurora-3", own=True, status="deployed", created_by="t")
        console = Console(record=True, width=120)
        result = add_to_demo(ws, console)
        out = console.export_text()
        assert "2026-12-05 09:00" in out  # SB 53: 15 days from discovery
        assert "2027-01-15T15:00:00Z" in out  # RAISE: 72 hours from determination
        assert "| received | 1 |" in out and "| escalated | 1 |" in out
        assert result.overdue == 0
        assert verify(ws.store, ws.verifier(), full=True).ok
    finally:
        ws.close()


def test_compliance_cli_records_and_exits_1_when_overdue(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    root = tmp_path / "lab"
    init_workspace(root, name="lab").close()
    r = cli("compliance", "status", "--workspace", root, "--as-of", "2026-02-01", "--json")
    assert r.code == 0, r.out  # type: ignore[attr-defined]
    r = cli("compliance", "status", "--workspace", root, "--as-of", "2026-11-26")
    assert r.code == 1  # type: ignore[attr-defined]  # the internal-use summary was never sent
    r = cli("compliance", "record", "--workspace", root, "--kind", "internal-use-summary",
            "--subject", "Q3 internal use", "--on", "2026-10-01")  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    r = cli("compliance", "status", "--workspace", root, "--as-of", "2026-11-26", "--json")
    assert r.code == 0, r.out  # type: ignore[attr-defined]
    summary = next(d for d in json.loads(r.out) if d["duty"] == "internal-use-summary")  # type: ignore[attr-defined]
    assert summary["due"] == "2027-01-01" and summary["state"] == "open"
    r = cli("compliance", "record", "--workspace", root, "--kind", "memo", "--subject", "x",
            "--on", "2026-10-01")  # fmt: skip
    assert r.code == 2 and "unknown record kind" in r.err  # type: ignore[attr-defined]
    r = cli("compliance", "record", "--workspace", root, "--kind", "framework-review",
            "--subject", "x", "--on", "2026-13-01")  # fmt: skip
    assert r.code == 2 and "not a date" in r.err  # type: ignore[attr-defined]
