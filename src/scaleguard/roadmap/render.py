"""The report card in the terminal (Rich) and as Markdown.

Grades are always written out in words (with a symbol), never shown by colour
alone. Both outputs depend only on the card, so they are reproducible.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scaleguard.mdtext import md_escape, md_link
from scaleguard.roadmap.model import (
    AREA_LABELS,
    AREAS,
    GRADE_LABELS,
    GRADES,
    GoalCard,
    Grade,
    ReportCard,
    RoadmapDiff,
)

SYMBOLS: dict[Grade, str] = {
    "achieved_on_time": "✔",
    "achieved_late": "✔",
    "on_track": "→",
    "at_risk": "!",
    "missed": "✘",
    "withdrawn": "–",
}
STYLES: dict[Grade, str] = {
    "achieved_on_time": "bold green",
    "achieved_late": "green",
    "on_track": "blue",
    "at_risk": "bold yellow",
    "missed": "bold red",
    "withdrawn": "dim",
}
FLAG = "revised less ambitiously"
SHORT: dict[Grade, str] = {
    "achieved_on_time": "on time",
    "achieved_late": "late",
    "on_track": "on track",
    "at_risk": "at risk",
    "missed": "missed",
    "withdrawn": "withdrawn",
}


def grade_text(grade: Grade) -> str:
    return f"{SYMBOLS[grade]} {GRADE_LABELS[grade]}"


def _grade_cell(grade: Grade) -> Text:
    return Text(grade_text(grade), style=STYLES[grade])


# -- terminal -----------------------------------------------------------------------


def summary_table(card: ReportCard) -> Table:
    table = Table(title=f"By area, as of {card.as_of}", title_justify="left")
    table.add_column("area", no_wrap=True)
    for grade in GRADES:
        table.add_column(f"{SYMBOLS[grade]} {SHORT[grade]}", justify="right")
    table.add_column("total", justify="right")
    table.add_column("⚑", justify="right")
    for area in card.areas:
        table.add_row(
            area.label,
            *(str(area.counts[g]) for g in GRADES),
            str(area.total),
            str(area.revised_less_ambitiously),
        )
    table.add_row(
        Text("all", style="bold"),
        *(str(card.totals[g]) for g in GRADES),
        str(card.total),
        str(card.revised_less_ambitiously),
    )
    return table


def goals_table(card: ReportCard) -> Table:
    table = Table(title="Goals", title_justify="left")
    table.add_column("area", no_wrap=True)
    table.add_column("goal", overflow="fold")
    table.add_column("grade", no_wrap=True)
    table.add_column("why", overflow="fold", ratio=1)
    table.add_column("⚑", no_wrap=True)
    for g in card.goals:
        table.add_row(
            AREA_LABELS[g.area],
            g.goal,
            _grade_cell(g.grade),
            g.reason,
            Text("⚑", style="bold magenta") if g.revised_less_ambitiously else "",
        )
    return table


def print_card(console: Console, card: ReportCard, *, title: str) -> None:
    """``roadmap grade``: per-area counts, every goal's grade, then the flagged revisions."""
    console.print(Text(title, style="bold"))
    console.print(f"as of {card.as_of}: {card.total} goal(s) graded")
    console.print(summary_table(card))
    console.print("✔ on time / ✔ late = achieved on time / late; ⚑ = " + FLAG)
    if not card.goals:
        console.print("no goals set by this date; add one with 'scaleguard roadmap add'")
        return
    console.print(goals_table(card))
    flagged = [g for g in card.goals if g.revised_less_ambitiously]
    if flagged:
        console.print(Text(f"{FLAG.capitalize()}:", style="bold magenta"))
        for g in flagged:
            for r in g.revisions:
                console.print(f"  {g.goal}  {r.on}  {r.summary}", markup=False, highlight=False)


def print_goal(console: Console, card: GoalCard) -> None:
    """``roadmap show``: one goal, its grade and why, its revisions and its timeline."""
    console.print(Text(f"{card.goal}: {card.title}", style="bold"))
    console.print(Text.assemble("grade: ", _grade_cell(card.grade), f" ({card.reason})"))
    rows = [
        ("area", AREA_LABELS[card.area]),
        ("owner", card.owner),
        ("set on", str(card.set_on)),
        ("original target", str(card.original_target)),
        ("target in force", str(card.target)),
        ("deadline graded against", str(card.deadline)),
        ("description", card.description),
    ]
    for key, value in rows:
        console.print(f"{key}: {value}", markup=False, highlight=False)
    if card.criteria:
        console.print("criteria:")
        for c in card.criteria:
            console.print(f"  - {c}", markup=False, highlight=False)
    if card.revised_less_ambitiously:
        console.print(Text(f"{FLAG}:", style="bold magenta"))
        for r in card.revisions:
            console.print(f"  {r.on}  {r.summary}", markup=False, highlight=False)
    table = Table(title="History", title_justify="left")
    for column in ("date", "event", "what", "note", "evidence", "ledger"):
        table.add_column(column, overflow="fold")
    for h in card.history:
        table.add_row(
            str(h.on), h.event, h.summary, h.note or "", h.evidence_url or "", str(h.ledger_index)
        )
    console.print(table)


def print_diff(console: Console, diff: RoadmapDiff) -> None:
    console.print(Text(f"Roadmap {diff.a} → {diff.b}", style="bold"))
    if not diff.entries:
        console.print("no goals added, dropped, delayed, narrowed or achieved")
        return
    table = Table(title_justify="left")
    for column in ("change", "area", "goal", "title", "reason"):
        table.add_column(column, overflow="fold")
    for e in diff.entries:
        style = "bold red" if e.kind in ("dropped", "delayed", "narrowed") else ""
        table.add_row(Text(e.kind, style=style), AREA_LABELS[e.area], e.goal, e.title, e.reason)
    console.print(table)


# -- Markdown -------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text safe in Markdown, table cells included: one line, every markup character escaped
    (raw HTML such as ``<img onerror=...>`` stays text)."""
    return md_escape(text)


def is_web_url(value: object) -> bool:
    """Only http(s) links become links; other schemes (javascript:, data:) stay text."""
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


def _link(url: str | None) -> str:
    if not url:
        return ""
    return md_link(url)


def card_markdown(card: ReportCard, *, title: str) -> str:
    """The whole report card as Markdown: the same content as the HTML page."""
    out: list[str] = [f"# {_cell(title)}", "", f"Graded as of **{card.as_of}**.", ""]
    out.append(
        f"{card.total} goal(s): "
        + ", ".join(f"{card.totals[g]} {GRADE_LABELS[g]}" for g in GRADES)
        + f". {card.revised_less_ambitiously} {FLAG}."
    )
    out += ["", "## Summary by area", ""]
    out.append("| Area | " + " | ".join(GRADE_LABELS[g] for g in GRADES) + f" | Total | {FLAG} |")
    out.append("|---|" + "---:|" * (len(GRADES) + 2))
    for a in card.areas:
        counts = " | ".join(str(a.counts[g]) for g in GRADES)
        out.append(f"| {a.label} | {counts} | {a.total} | {a.revised_less_ambitiously} |")
    totals = " | ".join(str(card.totals[g]) for g in GRADES)
    out.append(f"| **All** | {totals} | {card.total} | {card.revised_less_ambitiously} |")
    for area in AREAS:
        goals = [g for g in card.goals if g.area == area]
        if not goals:
            continue
        out += ["", f"## {AREA_LABELS[area]}"]
        for g in goals:
            out += _goal_markdown(g)
    out += ["", "## How goals are graded", ""]
    out.append(
        f"Each goal is graded against its deadline, the earliest target it has had. "
        f"At risk: the latest update says at risk or blocked; or the deadline is "
        f"{card.policy.due_window_days} days away or less with no report for more than "
        f"{card.policy.quiet_days} days; or there has been no report for more than "
        f"{card.policy.stale_days} days. A goal whose target moved later, or whose criteria "
        f"lost an item, is flagged *{FLAG}*."
    )
    return "\n".join(out) + "\n"


def _goal_markdown(g: GoalCard) -> list[str]:
    out = ["", f"### {_cell(g.title)} (`{g.goal}`)", ""]
    out.append(f"**Grade: {grade_text(g.grade)}**: {_cell(g.reason)}.")
    if g.revised_less_ambitiously:
        out += ["", f"**⚑ {FLAG.capitalize()}:**", ""]
        out += [f"- {r.on}: {_cell(r.summary)}" for r in g.revisions]
    out += ["", _cell(g.description), ""]
    out.append(
        f"Owner: {_cell(g.owner)}. Set on {g.set_on}; original target {g.original_target}; "
        f"target in force {g.target}; graded against {g.deadline}."
    )
    if g.criteria:
        out += ["", "Criteria:", ""]
        out += [f"- {_cell(c)}" for c in g.criteria]
    out += [
        "",
        "| Date | Event | What | Note | Evidence | Ledger entry |",
        "|---|---|---|---|---|---:|",
    ]
    for h in g.history:
        out.append(
            f"| {h.on} | {h.event} | {_cell(h.summary)} | {_cell(h.note or '')} | "
            f"{_link(h.evidence_url)} | {h.ledger_index} |"
        )
    return out
