"""Terminal rendering of a diff with rich: one table per classification, then the summary."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scaleguard.diff.model import CHANGE_KINDS, CLASSIFICATIONS, Classification, FrameworkDiff
from scaleguard.diff.text import TITLES, brief, element_label, kind_label

STYLES: dict[Classification, str] = {
    "weakening": "bold red",
    "unclear": "yellow",
    "strengthening": "green",
    "neutral": "dim",
}


def render_rich(d: FrameworkDiff, console: Console, *, top: int | None = None) -> None:
    """Print the diff to ``console`` (colour and width are the console's business).

    With ``top``, print only the headline, coverage and the ``top`` most
    important changes: the short form for a first look.
    """
    title = Text(f"{d.a.ref} → {d.b.ref}", style="bold")
    console.print(title)
    console.print(Text(d.headline))
    if top is not None:
        _coverage(d, console)
        _summary(d, console, top)
        console.print(Text("(the full list: scaleguard frameworks diff A B)", style="dim"))
        return
    if d.cross_framework:
        console.print(
            Text(
                "Cross-framework comparison: classifications read B relative to A.",
                style="italic",
            )
        )
    for cls in CLASSIFICATIONS:
        group = [c for c in d.changes if c.classification == cls]
        if not group:
            continue
        table = Table(
            title=f"{TITLES[cls]} ({len(group)})",
            title_style=STYLES[cls],
            title_justify="left",
            show_lines=False,
            expand=False,
        )
        table.add_column("element", no_wrap=False)
        table.add_column("change")
        table.add_column("reason and fields")
        for c in group:
            detail = Text(c.reason)
            for f in c.fields:
                if f.path:
                    detail.append(
                        f"\n  {f.path}: {brief(f.old, 80)} → {brief(f.new, 80)}", style="dim"
                    )
            kind = Text(kind_label(c, d.cross_framework))
            if c.unannounced:
                kind.append("\nunannounced", style="bold magenta")
            table.add_row(Text(element_label(c)), kind, detail)
        console.print(table)
    _coverage(d, console)
    _summary(d, console)


def _coverage(d: FrameworkDiff, console: Console) -> None:
    cov = d.coverage
    if not cov.domains:
        return
    table = Table(title="Coverage", title_justify="left")
    for col in ("risk domain", "A", "B", "thresholds in A", "thresholds in B"):
        table.add_column(col)
    for r in cov.domains:
        table.add_row(
            Text(r.id),
            Text(r.status_a or "—"),
            Text(r.status_b or "—"),
            Text(", ".join(r.thresholds_a) or "—"),
            Text(", ".join(r.thresholds_b) or "—"),
        )
    console.print(table)


def _summary(d: FrameworkDiff, console: Console, top: int = 10) -> None:
    counts = d.counts
    table = Table(title="Summary", title_justify="left")
    table.add_column("classification")
    table.add_column("changes", justify="right")
    for cls in CLASSIFICATIONS:
        table.add_row(Text(cls, style=STYLES[cls]), str(counts[cls]))
    table.add_row(Text("total", style="bold"), str(len(d.changes)))
    console.print(table)
    kinds = d.change_counts
    console.print(Text(", ".join(f"{kinds[k]} {k}" for k in CHANGE_KINDS)))
    if d.unannounced:
        console.print(
            Text(
                f"{d.unannounced} change(s) not announced by any changelog entry of {d.b.ref}",
                style="bold magenta",
            )
        )
    for i, c in enumerate(d.most_important(top), 1):
        line = Text(f"{i}. ")
        line.append(c.classification, style=STYLES[c.classification])
        if c.unannounced:
            line.append(" (unannounced)", style="magenta")
        line.append(f" {element_label(c)}: {c.reason}")
        console.print(line)
