"""Render an edition as Markdown or as a self-contained HTML page (Jinja2 templates).

Templates live in ``scaleguard/reports/templates``. The HTML page has inline
CSS and inline SVG charts, no script and nothing fetched from the network;
each chart carries a title, a description and a data table. Output depends
only on the edition and the report's own dates, so the same workspace state
gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from scaleguard.mdtext import md_escape
from scaleguard.reports.assemble import interval, num
from scaleguard.reports.charts import render_svg
from scaleguard.reports.model import Chart, EditionContent, Redaction
from scaleguard.reports.redact import edition_sha256

EDITION_LABELS = {"reviewer": "Reviewer edition", "public": "Public edition"}
EDITION_NOTES = {
    "reviewer": "Unredacted, for the external reviewers assigned to this report. It lists the "
    "redactions the public edition carries, with the text each one withholds.",
    "public": "Redacted text is replaced by a visible marker; the list at the end discloses "
    "every redaction's existence, place, category and justification.",
}
REDACTIONS_INTRO = {
    "reviewer": "Redactions recorded for the public edition. This edition withholds nothing.",
    "public": "Every redaction in this edition: where it is, its category and why.",
}


def md_cell(text: str) -> str:
    return md_escape(text) or " "


def md_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured pipe table; every cell escaped."""
    lines = ["| " + " | ".join(md_cell(c) for c in columns) + " |"]
    lines.append("|" + "---|" * len(columns))
    lines.extend("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def chart_rows(chart: Chart) -> list[tuple[str, ...]]:
    return [
        (p.label, num(p.estimate), interval(p.low, p.high), p.state, "yes" if p.covered else "no")
        for p in chart.points
    ]


def md_unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _environment(html: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("scaleguard.reports", "templates"),
        autoescape=html,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=not html,
        lstrip_blocks=not html,
    )
    env.filters["md"] = md_escape
    env.filters["cell"] = md_cell
    env.globals.update(num=num, interval=interval, md_table=md_table, chart_rows=chart_rows)
    return env


_HTML_ENV = _environment(True)
_MD_ENV = _environment(False)


@dataclass(frozen=True)
class RenderDates:
    """The report's own dates: drafting, and the latest redaction (or drafting)."""

    created: date
    modified: date


def dates_of(edition: EditionContent, redactions: list[Redaction]) -> RenderDates:
    created = edition.content.meta.drafted_on
    days = [r.on for r in redactions if r.on is not None]
    return RenderDates(created=created, modified=max([created, *days]))


def provenance(edition: EditionContent, content_sha256: str) -> str:
    """The hash an edition prints: only ever a hash of what its readers can see.

    The public edition never prints the hash of the unredacted content: the
    content is deterministic, so a reader holding the public text could
    confirm guesses of a redacted value (a number, a name) against it.
    """
    if edition.edition == "public":
        return (
            f"edition SHA-256 {edition_sha256(edition)}: the hash of exactly what this "
            "edition shows"
        )
    return f"content SHA-256 {content_sha256}: the hash of the unredacted content"


def _context(edition: EditionContent, content_sha256: str, dates: RenderDates) -> dict[str, Any]:
    return {
        "edition": edition.edition,
        "edition_label": EDITION_LABELS[edition.edition],
        "edition_note": EDITION_NOTES[edition.edition],
        "redactions_intro": REDACTIONS_INTRO[edition.edition],
        "report_id": edition.report_id,
        "meta": edition.content.meta,
        "sections": edition.content.sections,
        "notices": edition.redactions,
        "provenance": provenance(edition, content_sha256),
        "created": dates.created.isoformat(),
        "modified": dates.modified.isoformat(),
    }


def render_html(edition: EditionContent, content_sha256: str, dates: RenderDates) -> str:
    ctx = _context(edition, content_sha256, dates)
    ctx["svg"] = lambda chart: Markup(render_svg(chart)) if isinstance(chart, Chart) else ""
    return _HTML_ENV.get_template("report.html.j2").render(ctx)


def _markdown_rows(edition: EditionContent) -> dict[str, Any]:
    meta = edition.content.meta
    header = [
        ("Developer", meta.developer),
        ("Period", f"{meta.period} ({meta.period_start} to {meta.period_end})"),
        ("Coverage date", meta.coverage_date.isoformat()),
        ("Drafted on", meta.drafted_on.isoformat()),
        ("Framework", f"{meta.framework_title} ({meta.framework_ref})"),
        ("Models covered", ", ".join(meta.models)),
        ("Report", f"#{edition.report_id}"),
        ("Redactions", str(len(edition.redactions))),
    ]
    columns = ["Redaction", "Section", "Scope", "Category", "Justification"]
    rows: list[tuple[str, ...]] = []
    for n in edition.redactions:
        row = (n.label, f"{n.section_title} (§ {n.section})", n.scope, n.category, n.justification)
        if edition.edition == "reviewer":
            withheld = n.span if n.span is not None else "the whole section"
            rows.append((*row, withheld, n.by or ""))
        else:
            rows.append((*row, ", ".join(n.places) or "—"))
    if edition.edition == "reviewer":
        columns += ["Withheld text", "Decided by"]
    else:
        columns += ["Also removed from"]
    return {"header_rows": header, "notice_columns": columns, "notice_rows": rows}


def render_markdown(edition: EditionContent, content_sha256: str, dates: RenderDates) -> str:
    ctx = {**_context(edition, content_sha256, dates), **_markdown_rows(edition)}
    text = _MD_ENV.get_template("report.md.j2").render(ctx)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


class _Text(HTMLParser):
    """What a reader of an HTML page sees: text (not in <style>) and labelling attributes."""

    LABELS = frozenset({"aria-label", "title", "alt", "content"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._style = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self._style += 1
        self.pieces.extend(v for k, v in attrs if k in self.LABELS and v)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._style = max(0, self._style - 1)

    def handle_data(self, data: str) -> None:
        if not self._style:
            self.pieces.append(data)


def visible_text(html: str) -> list[str]:
    """The readable pieces of an HTML page, plus the whole text joined as one piece."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return [*parser.pieces, "".join(parser.pieces), " ".join(parser.pieces)]


def markdown_text(markdown: str) -> list[str]:
    return [markdown, md_unescape(markdown)]
