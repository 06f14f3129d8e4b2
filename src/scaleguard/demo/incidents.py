"""The incidents part of ``make run``: one incident under three regimes, one staff report.

A fictional weights exfiltration at the demo lab is recorded with its
discovery and determination times; the clocks are shown under SB 53 and
the EU Code of Practice as of a fixed moment, so the demo output does not
depend on when it runs. RAISE takes effect on 2027-01-01, after this
incident; the pure clock shows what it would require of the same incident
discovered after that date. Then an anonymous noncompliance report goes
from submission through findings and escalation to the quarterly board
update. Every step is a ledger record; people and events are fictional.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from rich.console import Console

from scaleguard.incidents import clocks, noncompliance, regimes, service
from scaleguard.incidents.noncompliance import RECIPIENTS_FILE
from scaleguard.workspace.workspace import Workspace

DISCOVERED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DETERMINED = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
AS_OF = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
RECIPIENTS = """recipients:
  - {id: rso, name: Responsible Scaling Officer, is_rso: true}
  - {id: general-counsel, name: General Counsel, reports_to_rso: false}
  - {id: board-audit-chair, name: Chair of the Board audit committee, board: true}
"""


@dataclass
class IncidentDemo:
    incident_id: int
    report_id: int
    overdue: int
    quarterly_sha256: str


def add_to_demo(ws: Workspace, console: Console) -> IncidentDemo:
    from scaleguard.cli.incidents import render_clock
    from scaleguard.incidents import compliance

    inc = service.open_incident(
        ws,
        title="Model weights copied to an outside server",
        discovered=DISCOVERED,
        determined=DETERMINED,
        kinds=["weights-compromise", "bodily-injury", "cybersecurity-breach"],
        models=["aurora-3"],
        description=(
            "A compromised build server copied aurora-3 weights outside the lab; a fine-tuned "
            "copy then gave harmful instructions that led to an injury."
        ),
        by="security-lead",
    )
    service.submit(
        ws,
        inc.id,
        regime="sb53",
        group="initial",
        content=b"SB 53 critical safety incident report, incident 1 (fictional)",
        at=DISCOVERED + timedelta(days=2),
        by="rso",
    )
    service.submit(
        ws,
        inc.id,
        regime="eu-cop",
        group="initial",
        content=b"Code of Practice initial report, incident 1 (fictional)",
        at=DETERMINED + timedelta(days=2),
        by="rso",
    )
    view = service.load(ws, inc.id)
    regs = regimes.load_regimes(ws.root)
    items = clocks.obligations(view.facts, regs, AS_OF)
    console.print(
        f"incident {inc.id}: {view.incident.title}; discovered {clocks.iso(DISCOVERED)}, "
        f"determined {clocks.iso(DETERMINED)}; clocks as of {clocks.iso(AS_OF)}:"
    )
    render_clock(console, [(view, items)], AS_OF, UTC)
    console.print(
        "The two reports were recorded after their stated send times (the demo records them "
        "today), and the clock says so: a backdated claim is never silent."
    )
    moved = replace(
        view.facts,
        discovered_at=datetime(2027, 1, 11, 9, 0, tzinfo=UTC),
        determined_at=datetime(2027, 1, 12, 15, 0, tzinfo=UTC),
        submissions=(),
    )
    (raise_regime,) = regimes.select(regs, ["raise"])
    console.print(
        "RAISE takes effect on 2027-01-01. The same incident discovered on 2027-01-11 "
        "(determined 2027-01-12 15:00 UTC) would owe New York:"
    )
    assert moved.determined_at is not None
    for o in clocks.obligations(moved, [raise_regime], moved.determined_at):
        console.print(
            f"  {o.name}: by {clocks.iso(o.deadline) if o.deadline else '-'} "
            f"({o.clock}; source not verified against the enacted text)"
        )
    overdue = sum(1 for o in items if o.status == "overdue")

    console.print("\nA staff member reports potential noncompliance, anonymously:")
    (ws.root / RECIPIENTS_FILE).write_text(RECIPIENTS)
    done = noncompliance.submit(
        ws,
        text="The last capability assessment of aurora-3 skipped two required evaluations.",
        recipients=["general-counsel"],
        anonymous=True,
        today=date(2026, 11, 3),
    )
    rid = done.report.id
    console.print(
        f"  report {rid} received {done.report.received_on}; stored with no name, host or "
        "time of day; the reporter keeps a follow-up token"
    )
    noncompliance.act(ws, rid, "triage", by="general-counsel", today=date(2026, 11, 4))
    noncompliance.act(ws, rid, "investigate", by="general-counsel", today=date(2026, 11, 5))
    noncompliance.act(
        ws, rid, "reporter-update", by="general-counsel", note="Investigation under way.",
        today=date(2026, 11, 12),
    )  # fmt: skip
    noncompliance.act(
        ws, rid, "close", by="general-counsel",
        note="Confirmed: two evaluations were skipped; the assessment is being redone.",
        substantiated=True, material_risk=True, today=date(2026, 11, 18),
    )  # fmt: skip
    noncompliance.act(
        ws, rid, "escalate", by="rso", note="Board audit chair told the same day.",
        today=date(2026, 11, 18),
    )  # fmt: skip
    st = noncompliance.follow_up(ws, done.token)
    console.print(f"  the reporter checks with the token: status {st.status}")
    update = noncompliance.quarterly(noncompliance.states(ws), "2026-Q4")
    text = noncompliance.quarterly_markdown(update)
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    compliance.record(
        ws, kind="board-quarterly-update", subject="2026-Q4", on=date(2026, 11, 24),
        sha256=digest, by="rso",
    )  # fmt: skip
    console.print(text, markup=False, highlight=False)
    console.print(f"board update recorded in the ledger by its SHA-256 {digest}")
    return IncidentDemo(inc.id, rid, overdue, digest)
