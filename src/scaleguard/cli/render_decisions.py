"""Terminal rendering of determinations and decisions. Presentation only."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from scaleguard.cli.output import print_table
from scaleguard.decisions.model import Decision
from scaleguard.decisions.service import ThresholdStatus

OUTCOME_STYLE = {
    "proceed": "bold green",
    "proceed_with_conditions": "bold yellow",
    "delay": "bold dark_orange",
    "pause": "bold red",
    "not_permitted": "bold red",
}
STATE_STYLE = {
    "below": "green",
    "alert": "yellow",
    "ambiguous": "dark_orange",
    "crossed": "red",
    "missing": "magenta",
}


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def missing_warning(console: Console, missing: Sequence[str], total: int, *, decided: bool) -> None:
    """A loud banner when thresholds have no evidence: "missing" is never "below", and an
    outcome reached without evidence is not a clean result."""
    if not missing:
        return
    what = (
        "The outcome above treats them as unresolved (never as below): it is not a clean result."
        if decided
        else "They are treated as unresolved by every decision (never as below)."
    )
    body = Text.assemble(
        (f"NO EVIDENCE for {len(missing)} of {total} threshold(s): ", "bold"),
        ", ".join(missing),
        ".\n",
        what,
        "\nMap your evaluations to thresholds with [[indicators]] in scaleguard.toml "
        "(docs/evidence.md), then ingest evidence and run 'scaleguard determine' again.",
    )
    console.print(
        Panel(
            body,
            title=Text("WARNING: evidence missing", style="bold magenta"),
            title_align="left",
            border_style="magenta",
            expand=True,
        )
    )


def determinations(console: Console, ref: str, model: str, rows: Sequence[ThresholdStatus]) -> None:
    table_rows: list[list[str | Text]] = []
    for st in rows:
        f = st.finding
        interval = f"[{_num(f.low)}, {_num(f.high)}]" if f.low is not None else ""
        note = ""
        if st.kind != "threshold":
            note = f"{st.kind}: reported only"
        if f.override_by:
            note = f"override by {f.override_by}: {f.override_reason}"
        elif len(st.determinations) > 1:
            note = f"worst of {len(st.determinations)} indicators"
        table_rows.append(
            [
                f"{st.threshold_id}\n{st.name}",
                Text(f.state, style=STATE_STYLE.get(f.state, "")),
                _num(f.estimate),
                interval,
                f.indicator or "",
                ", ".join(str(i) for i in f.evidence_ids),
                note,
            ]
        )
    columns = ("threshold", "state", "estimate", "interval", "indicator", "evidence", "note")
    print_table(
        console,
        f"Determinations for {model} under {ref}",
        columns,
        table_rows,
        prose=("threshold", "indicator", "evidence", "note"),
    )
    missing = [st.threshold_id for st in rows if st.finding.state == "missing"]
    missing_warning(console, missing, len(rows), decided=False)


def decision(console: Console, d: Decision, decision_id: int | None = None) -> None:
    title = d.outcome.replace("_", " ").upper()
    head = Text.assemble(
        (title, OUTCOME_STYLE.get(d.outcome, "bold")),
        f"  {d.action.replace('_', ' ')} of {d.model} under {d.framework}",
        (f"  (decision #{decision_id})" if decision_id is not None else "", "dim"),
    )
    console.print(Panel(Text(d.summary), title=head, title_align="left", expand=True))
    missing = [t.id for t in d.thresholds if t.state == "missing"]
    missing_warning(console, missing, len(d.thresholds), decided=True)

    console.print(Text("Thresholds", style="bold underline"))
    for t in d.thresholds:
        line = Text.assemble(
            "  ",
            (t.id, "bold"),
            "  ",
            (t.state, STATE_STYLE.get(t.state, "")),
            f" → treated as {t.treated_as}",
        )
        console.print(line)
        console.print(Text(f"    {t.reason}", style="dim"))
        for req in t.required:
            mark, style = (
                ("✓", "green")
                if req.attested
                else (
                    "✗",
                    "red" if req.force == "binding" and req.scope != "industry_wide" else "yellow",
                )
            )
            who = f" — attested by {req.attested_by}" if req.attested else ""
            console.print(
                Text.assemble(
                    "    ",
                    (f"{mark} {req.standard}", style),
                    f" ({req.force}, {req.scope.replace('_', '-')}){who}",
                )
            )

    console.print(Text("Rules governing this action", style="bold underline"))
    for r in d.rules:
        decisive = r.commitment in d.deciding_rules
        status = (r.effect or "applies") if r.applied else "does not apply"
        console.print(
            Text.assemble(
                "  ",
                ("★ " if decisive else "• ", "bold" if decisive else ""),
                (r.commitment, "bold"),
                f"  [{r.force}, {r.scope.replace('_', '-')}]  trigger {r.trigger}",
                (f"  condition {r.condition_value}" if r.condition else ""),
                "  → ",
                (status, "bold red" if r.applied and r.effect else ""),
            )
        )
        console.print(Text(f"    {r.reason}", style="dim"))
        console.print(Text(f"    source: {r.source}", style="dim"))
    if d.deciding_rules:
        console.print(Text("  ★ = a deciding rule", style="dim"))

    facts = Table(title="Facts", title_justify="left")
    for col in ("fact", "value", "basis"):
        facts.add_column(col, overflow="fold")
    for f in d.facts:
        value = "unknown" if f.value is None else str(f.value).lower()
        facts.add_row(f.name, value, f.basis + ("\n" + " ".join(f.sources) if f.sources else ""))
    console.print(facts)

    if d.conditions:
        console.print("[bold]Conditions[/]")
        for item in d.conditions:
            console.print(f"  • {item}", markup=False)
    if d.missing:
        console.print("[bold magenta]Missing evidence[/]")
        for m in d.missing:
            console.print(f"  • {m}", markup=False)
    if d.what_would_change:
        console.print("[bold]What would change the outcome[/]")
        for c in d.what_would_change:
            console.print(
                Text.assemble(
                    f"  • if {c.change}: ",
                    (c.outcome.replace("_", " "), OUTCOME_STYLE.get(c.outcome, "")),
                )
            )


def comparison(console: Console, a: Decision, b: Decision) -> None:
    table = Table(title="Same facts, two frameworks", title_justify="left")
    for col in ("framework", "outcome", "deciding rules"):
        table.add_column(col, overflow="fold")
    for d in (a, b):
        table.add_row(
            d.framework,
            Text(d.outcome.replace("_", " "), style=OUTCOME_STYLE.get(d.outcome, "")),
            ", ".join(d.deciding_rules) or "—",
        )
    console.print(table)
