"""Redactions and the two editions: pure functions over a report's content.

* The **reviewer** edition is the content unchanged, followed by the list of
  redactions the public edition carries (with each withheld span and who
  decided), so a reviewer can judge them.
* The **public** edition withholds each redacted section (its blocks and its
  subsections) and every occurrence of each redacted span, anywhere in the
  report and in any case, behind a visible marker ``[REDACTED R1 — security]``;
  it lists every redaction's existence, place, category and justification.

A chart cannot hide one value, so a chart showing a redacted span is
withheld whole. The guarantee: :func:`build_edition` raises rather than
return a public edition in which a redacted span still appears, for example
because the marker, a justification or a section id contains it.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from scaleguard.errors import ConflictError, InputError, NotFoundError
from scaleguard.ledger.canonical import canonical_json
from scaleguard.reports.assemble import num
from scaleguard.reports.model import (
    Block,
    BulletList,
    Chart,
    Edition,
    EditionContent,
    Paragraph,
    Redacted,
    Redaction,
    RedactionNotice,
    ReportContent,
    ReportMeta,
    Section,
    Table,
)

_SPACE = re.compile(r"\s+")
_STRUCTURAL_KEYS = frozenset({"kind", "version"})


class RedactionError(InputError):
    """A redaction that cannot be applied without leaking what it withholds."""


def marker(r: Redaction) -> str:
    return f"[REDACTED {r.label} — {r.category}]"


def squash(text: str) -> str:
    """Whitespace runs as one space, case folded: how a reader compares text."""
    return _SPACE.sub(" ", text).strip().casefold()


def pattern(span: str) -> re.Pattern[str]:
    """The span as a reader would recognise it: any case, any run of whitespace between words."""
    return re.compile(r"\s+".join(re.escape(word) for word in span.split()), re.IGNORECASE)


# -- the texts of a section ------------------------------------------------------


def chart_texts(chart: Chart) -> list[str]:
    """Every string the chart shows, numbers formatted as they are drawn."""
    out = [chart.id, chart.title, chart.description, chart.y_label, chart.comparator]
    out.append(num(chart.threshold))
    if chart.early_warning is not None:
        out.append(num(chart.early_warning))
    for p in chart.points:
        out.extend([p.label, p.state])
        out.extend(num(v) for v in (p.estimate, p.low, p.high) if v is not None)
    return out


def block_texts(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        return [block.text]
    if isinstance(block, BulletList):
        return list(block.items)
    if isinstance(block, Table):
        return [block.caption, *block.columns, *(c for row in block.rows for c in row)]
    if isinstance(block, Chart):
        return chart_texts(block)
    return [block.marker]


def section_texts(section: Section) -> list[str]:
    """The title and every text of the section and its subsections."""
    out = [section.title]
    for block in section.blocks:
        out.extend(block_texts(block))
    for child in section.sections:
        out.extend(section_texts(child))
    return out


# -- validation of a new redaction -----------------------------------------------


def find_section(content: ReportContent, section_id: str) -> Section:
    found = content.find(section_id)
    if found is None:
        ids = content.section_ids()
        close = difflib.get_close_matches(section_id, ids, n=1)
        raise NotFoundError(
            f"the report has no section {section_id!r}",
            hint=(f"did you mean {close[0]!r}? " if close else "")
            + "list them with 'scaleguard report sections REPORT'",
        )
    return found


def _ancestors(section_id: str, content: ReportContent) -> list[str]:
    ids = content.section_ids()
    return [i for i in ids if section_id.startswith(i + ".")]


def check_new(content: ReportContent, existing: Sequence[Redaction], new: Redaction) -> None:
    """Refuse a redaction of a missing section, of a span the section does not hold,
    of something already withheld, or one whose public edition would still show it."""
    section = find_section(content, new.section)
    whole = {r.section: r for r in existing if r.span is None}
    for sid in (*_ancestors(new.section, content), new.section):
        if sid in whole:
            raise ConflictError(
                f"section {new.section!r} is already withheld by {whole[sid].label} "
                f"(section {sid!r})",
                hint="nothing more to redact there",
            )
    if new.span is not None:
        if not new.span.strip():
            raise InputError(
                "the span to redact is empty", hint='give the exact text: --span "..."'
            )
        if not any(pattern(new.span).search(t) for t in section_texts(section)):
            raise InputError(
                f"the text {new.span[:80]!r} does not occur in section {new.section!r}",
                hint="copy the span exactly as 'scaleguard report show' prints it, or omit "
                "--span to withhold the whole section",
            )
        for r in existing:
            if r.span is not None and squash(r.span) == squash(new.span):
                raise ConflictError(
                    f"that span is already withheld everywhere by {r.label}",
                    hint="a span redaction removes every occurrence in the report",
                )
    if not new.justification.strip():
        raise InputError("a redaction needs a justification", hint='add --why "..."')
    build_edition(content, 0, [*existing, new], "public")


# -- applying redactions ---------------------------------------------------------


def _without_sections(section: Section, whole: dict[str, Redaction]) -> Section:
    r = whole.get(section.id)
    if r is not None:
        hidden = sum(1 for _ in section.walk()) - 1
        note = f" (with {hidden} subsection(s))" if hidden else ""
        return Section(
            id=section.id,
            title=section.title,
            blocks=(Redacted(marker=marker(r) + note),),
        )
    children = tuple(_without_sections(c, whole) for c in section.sections)
    return section.model_copy(update={"sections": children})


def _replace_block(block: Block, sub: Callable[[str], str], r: Redaction, hit: list[bool]) -> Block:
    def s(text: str) -> str:
        out = sub(text)
        if out != text:
            hit[0] = True
        return out

    if isinstance(block, Paragraph):
        return Paragraph(text=s(block.text))
    if isinstance(block, BulletList):
        return BulletList(items=tuple(s(i) for i in block.items))
    if isinstance(block, Table):
        return Table(
            caption=s(block.caption),
            columns=tuple(s(c) for c in block.columns),
            rows=tuple(tuple(s(c) for c in row) for row in block.rows),
        )
    if isinstance(block, Chart):
        if r.span is not None and any(pattern(r.span).search(t) for t in chart_texts(block)):
            hit[0] = True
            return Redacted(marker=f"{marker(r)} (chart withheld)")
        return block
    return Redacted(marker=s(block.marker))


def _replace_section(section: Section, r: Redaction, places: list[str]) -> Section:
    assert r.span is not None
    found, mark = pattern(r.span), marker(r)

    def sub(text: str) -> str:
        return found.sub(lambda _: mark, text)

    hit = [False]
    title = sub(section.title)
    if title != section.title:
        hit[0] = True
    blocks = tuple(_replace_block(b, sub, r, hit) for b in section.blocks)
    if hit[0]:
        places.append(section.id)
    children = tuple(_replace_section(c, r, places) for c in section.sections)
    return Section(id=section.id, title=title, blocks=blocks, sections=children)


def _replace_meta(meta: ReportMeta, r: Redaction, places: list[str]) -> ReportMeta:
    assert r.span is not None
    found, mark = pattern(r.span), marker(r)

    def sub(text: str) -> str:
        return found.sub(lambda _: mark, text)

    fields = ("title", "developer", "period", "framework_ref", "framework_title")
    update: dict[str, Any] = {f: sub(getattr(meta, f)) for f in fields}
    update["models"] = tuple(sub(m) for m in meta.models)
    if any(update[f] != getattr(meta, f) for f in (*fields, "models")):
        places.append("header")
    return meta.model_copy(update=update)


def numbered(
    rows: Iterable[tuple[int, str, str | None, str, str, str, date | None]],
) -> list[Redaction]:
    """Redactions from (record id, section, span, category, justification, by, date)."""
    return [
        Redaction(
            number=i,
            record_id=rid,
            section=section,
            span=span,
            category=category,
            justification=why,
            by=by,
            on=on,
        )
        for i, (rid, section, span, category, why, by, on) in enumerate(rows, start=1)
    ]


def build_edition(
    content: ReportContent, report_id: int, redactions: Sequence[Redaction], edition: Edition
) -> EditionContent:
    """One edition of the report; RedactionError if a public edition would leak a span."""
    for r in redactions:
        find_section(content, r.section)
        if r.span is not None and not r.span.split():
            raise InputError(f"{r.label} redacts an empty span", hint="give the exact text")
    titles = {s.id: s.title for s in content.walk()}
    if edition == "reviewer":
        notices = tuple(
            RedactionNotice(
                label=r.label,
                section=r.section,
                section_title=titles[r.section],
                scope="section" if r.span is None else "span",
                category=r.category,
                justification=r.justification,
                span=r.span,
                by=r.by,
            )
            for r in redactions
        )
        return EditionContent(
            edition="reviewer", report_id=report_id, content=content, redactions=notices
        )
    whole = {r.section: r for r in redactions if r.span is None}
    sections = tuple(_without_sections(s, whole) for s in content.sections)
    meta = content.meta
    places: dict[int, list[str]] = {}
    for r in redactions:
        if r.span is None:
            continue
        found: list[str] = []
        meta = _replace_meta(meta, r, found)
        sections = tuple(_replace_section(s, r, found) for s in sections)
        places[r.number] = found
    public = ReportContent(meta=meta, sections=sections)
    shown = {s.id: s.title for s in public.walk()}
    notices = tuple(
        RedactionNotice(
            label=r.label,
            section=r.section,
            section_title=shown.get(r.section, "(inside a withheld section)"),
            scope="section" if r.span is None else "span",
            category=r.category,
            justification=r.justification,
            places=tuple(places.get(r.number, ())),
        )
        for r in redactions
    )
    result = EditionContent(
        edition="public", report_id=report_id, content=public, redactions=notices
    )
    assert_no_leak(result, redactions)
    return result


# -- the guarantee ---------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield num(float(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in _STRUCTURAL_KEYS:
                yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def leaks(shown: Iterable[str], redactions: Sequence[Redaction]) -> list[Redaction]:
    """The span redactions whose text still appears in ``shown`` (whitespace-insensitive)."""
    texts = [squash(t) for t in shown]
    out = []
    for r in redactions:
        needle = squash(r.span or "")
        if needle and any(needle in t for t in texts):
            out.append(r)
    return out


def assert_no_leak(edition: EditionContent, redactions: Sequence[Redaction]) -> None:
    found = leaks(_strings(edition.model_dump(mode="json")), redactions)
    if found:
        r = found[0]
        raise RedactionError(
            f"the public edition would still show the text redacted by {r.label} "
            f"({r.span[:80] if r.span else ''!r}): it also occurs in text that cannot be "
            "redacted (a section id, a redaction marker or a justification)",
            hint="choose a longer or different span, reword the justification, or withhold "
            "the whole section",
        )


def edition_sha256(edition: EditionContent) -> str:
    """The edition's hash: SHA-256 of the canonical JSON (RFC 8785) of what it shows."""
    return hashlib.sha256(canonical_json(edition.model_dump(mode="json"))).hexdigest()
