"""Rich renderings of frameworks for the terminal. Pure presentation: no logic decides here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scaleguard.cli.output import print_table
from scaleguard.framework.conditions import describe
from scaleguard.framework.facts import FactSpec

if TYPE_CHECKING:
    from scaleguard.framework.loader import LoadedFramework

FORCE_ORDER = ("binding", "conditional", "goal", "recommendation", "discretionary")
FORCE_STYLE = {
    "binding": "bold green",
    "conditional": "yellow",
    "goal": "cyan",
    "recommendation": "magenta",
    "discretionary": "dim",
}


def framework_table(console: Console, summaries: Sequence[dict[str, Any]]) -> None:
    """The listing of :meth:`Library.summaries <scaleguard.framework.library.Library.summaries>`."""
    rows = [
        (
            s["ref"],
            s["developer"],
            s["title"],
            s["effective_date"],
            str(s["counts"]["thresholds"]),
            str(s["counts"]["commitments"]),
            "built-in" if s["builtin"] else s["origin"],
        )
        for s in summaries
    ]
    columns = ("ref", "developer", "title", "effective", "thresholds", "commitments", "origin")
    print_table(console, "Frameworks", columns, rows, prose=("title", "origin"))


def framework_detail(console: Console, fw: LoadedFramework) -> None:
    doc, meta = fw.doc, fw.doc.framework
    console.print(
        Text.assemble(
            (f"{meta.title} ", "bold"),
            (f"{meta.version}", "bold cyan"),
            f"  ({meta.developer}, effective {meta.effective_date.isoformat()}",
            f", supersedes {meta.supersedes})" if meta.supersedes else ")",
        )
    )
    console.print(f"ref {fw.ref}   digest sha256:{fw.digest[:16]}…")
    primary = meta.primary_text
    if primary is not None:
        when = f" (retrieved {primary.retrieved.isoformat()})" if primary.retrieved else ""
        console.print(f"primary text{when}:")
        console.print(f"  sha256 {primary.sha256}")
        console.print(f"  from {primary.retrieved_from}", overflow="fold")
    else:
        console.print("primary text: not recorded", style="yellow")
    console.print(f"ambiguous determinations: {meta.ambiguity_policy.replace('_', ' ')}")
    if meta.summary:
        console.print(meta.summary, style="dim")

    domains = Table(title="Risk domains", title_justify="left")
    for col in ("id", "name", "status", "source"):
        domains.add_column(col, overflow="fold")
    for d in doc.risk_domains:
        domains.add_row(d.id, d.name, d.status, d.source.section)
    console.print(domains)

    standards = {s.id: s for s in doc.safeguard_standards}
    console.print(Text("Capability thresholds", style="bold underline"))
    for t in doc.thresholds:
        level = f"level {t.level}" + (f" ({t.level_label})" if t.level_label else "")
        aliases = f" · formerly {', '.join(t.legacy_aliases)}" if t.legacy_aliases else ""
        console.print(Text.assemble("  ", (t.id, "bold"), f"  {t.name}"))
        console.print(
            Text(f"    {t.domain} · {level} · {t.kind}{aliases} · {t.source.section}", style="dim")
        )
        for r in t.required_safeguards:
            std = standards.get(r.standard)
            label = std.name if std else r.standard
            console.print(
                Text.assemble(
                    "    requires ",
                    (f"{r.standard}", FORCE_STYLE.get(r.force, "")),
                    f" ({label}; {r.force}, {r.scope.replace('_', '-')})",
                )
            )

    for force in FORCE_ORDER:
        items = [c for c in doc.commitments if c.force == force]
        if not items:
            continue
        console.print(Text(f"Commitments: {force}", style=f"bold underline {FORCE_STYLE[force]}"))
        for c in items:
            console.print(Text.assemble("  ", (c.id, "bold"), f"  {c.name}"))
            facts = [c.kind, c.scope.replace("_", "-")]
            if c.applies_to:
                facts.append("applies to " + ", ".join(c.applies_to))
            if c.outcome:
                facts.append(f"outcome {c.outcome}")
            facts.append(c.source.section)
            console.print(Text("    " + " · ".join(facts), style="dim"))
            cond = fw.conditions.get(c.id)
            if cond is not None:
                console.print(Text(f"    if {describe(cond)}", style="yellow"))

    if doc.cadences:
        cad = Table(title="Cadences", title_justify="left")
        for col in ("id", "artifact", "interval", "compute multiple", "deadline", "force"):
            cad.add_column(col, overflow="fold")
        for k in doc.cadences:
            interval = str(k.interval) if k.interval else ""
            if k.min_interval:
                interval = f"{k.min_interval}–{interval}"
            cad.add_row(
                k.id,
                k.artifact,
                interval,
                f"{k.compute_multiple:g}×" if k.compute_multiple else "",
                str(k.deadline) if k.deadline else "",
                k.force,
            )
        console.print(cad)
    uncertain = [
        e
        for section in (doc.thresholds, doc.commitments, doc.safeguard_standards, doc.risk_domains)
        for e in section
        if e.confidence != "primary"
    ]
    if uncertain:
        console.print("[bold]Not from the framework text itself[/]")
        for e in uncertain:
            note = f": {e.uncertainty}" if e.uncertainty else ""
            console.print(f"  {e.id} ({e.confidence}){note}", style="dim")


def facts_table(console: Console, facts: Sequence[FactSpec]) -> None:
    table = Table(title="Built-in facts for conditions", title_justify="left")
    for col in ("name", "type", "meaning", "established from"):
        table.add_column(col, overflow="fold")
    for f in facts:
        table.add_row(f.name, f.type, f.description, f.derived_from)
    console.print(table)
