"""Redactions and editions, pure: what the public edition withholds and what it discloses."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scaleguard.errors import ConflictError, InputError, NotFoundError
from scaleguard.reports.guard import check_public
from scaleguard.reports.model import (
    Chart,
    ChartPoint,
    Paragraph,
    Redacted,
    Redaction,
    ReportContent,
    ReportMeta,
    Section,
    Table,
)
from scaleguard.reports.redact import (
    RedactionError,
    build_edition,
    check_new,
    edition_sha256,
    squash,
)
from scaleguard.reports.render import (
    dates_of,
    markdown_text,
    render_html,
    render_markdown,
    visible_text,
)

META = ReportMeta(
    title="Risk Report 2026-Q3 — Lab",
    developer="Lab",
    period="2026-Q3",
    period_start=date(2026, 7, 1),
    period_end=date(2026, 9, 30),
    coverage_date=date(2026, 9, 30),
    drafted_on=date(2026, 10, 2),
    framework_ref="demo@1",
    framework_title="Demo framework",
    models=("aurora-3",),
)


def content() -> ReportContent:
    chart = Chart(
        id="novel--ind",
        title="Novel uplift across generations",
        description="aurora-3 0.810 crossed",
        y_label="accuracy",
        comparator=">=",
        threshold=0.7,
        points=(ChartPoint(label="aurora-3", estimate=0.81, low=0.75, high=0.86, state="crossed"),),
    )
    return ReportContent(
        meta=META,
        sections=(
            Section(
                id="summary",
                title="Summary",
                blocks=(Paragraph(text="Project Falcon hardened the weights store."),),
            ),
            Section(
                id="capabilities",
                title="Capabilities",
                blocks=(Paragraph(text="Intro."),),
                sections=(
                    Section(
                        id="capabilities.novel",
                        title="Novel uplift",
                        blocks=(
                            Table(
                                caption="Results",
                                columns=("model", "score"),
                                rows=(("aurora-3", "0.810"),),
                            ),
                            chart,
                        ),
                    ),
                ),
            ),
            Section(
                id="safeguards",
                title="Safeguards",
                blocks=(Paragraph(text="Falcon logs go to project falcon reviewers."),),
            ),
        ),
    )


def red(
    number: int, section: str, span: str | None, why: str = "Protects a security project."
) -> Redaction:
    return Redaction(
        number=number, section=section, span=span, category="security", justification=why, by="rso"
    )


def public_text(c: ReportContent, reds: list[Redaction]) -> str:
    ed = build_edition(c, 1, reds, "public")
    dates = dates_of(ed, reds)
    pieces = visible_text(render_html(ed, "h", dates)) + markdown_text(
        render_markdown(ed, "h", dates)
    )
    return squash("\n".join(pieces))


def test_a_section_redaction_hides_its_blocks_and_subsections_but_not_its_title() -> None:
    reds = [red(1, "capabilities", None)]
    ed = build_edition(content(), 1, reds, "public")
    section = ed.content.find("capabilities")
    assert section is not None and section.title == "Capabilities"
    assert section.sections == ()
    assert isinstance(section.blocks[0], Redacted)
    assert "[REDACTED R1 — security]" in section.blocks[0].marker
    assert "1 subsection" in section.blocks[0].marker
    text = public_text(content(), reds)
    assert "novel uplift across generations" not in text and "intro." not in text
    assert ed.redactions[0].scope == "section" and ed.redactions[0].span is None


def test_a_span_is_withheld_everywhere_in_any_case_and_listed_with_its_places() -> None:
    reds = [red(1, "summary", "Project Falcon")]
    check_new(content(), [], reds[0])
    ed = build_edition(content(), 1, reds, "public")
    assert "falcon" not in squash(ed.model_dump_json()).replace("falcon logs", "")
    text = public_text(content(), reds)
    assert "project falcon" not in text
    assert "falcon logs" in text  # only the span, not the word alone, is withheld
    notice = ed.redactions[0]
    assert notice.places == ("summary", "safeguards") and notice.span is None and notice.by is None


def test_a_chart_showing_a_redacted_value_is_withheld_whole() -> None:
    reds = [red(1, "capabilities.novel", "0.810")]
    check_new(content(), [], reds[0])
    ed = build_edition(content(), 1, reds, "public")
    section = ed.content.find("capabilities.novel")
    assert section is not None
    assert not any(isinstance(b, Chart) for b in section.blocks)
    assert any(isinstance(b, Redacted) and "chart withheld" in b.marker for b in section.blocks)
    assert "0.810" not in public_text(content(), reds)


def test_the_reviewer_edition_is_unredacted_and_shows_what_is_withheld() -> None:
    reds = [red(1, "summary", "Project Falcon"), red(2, "capabilities", None)]
    ed = build_edition(content(), 1, reds, "reviewer")
    assert ed.content == content()
    assert [(n.label, n.span, n.by) for n in ed.redactions] == [
        ("R1", "Project Falcon", "rso"),
        ("R2", None, "rso"),
    ]


def test_edition_hashes_are_stable_and_differ_between_editions() -> None:
    reds = [red(1, "summary", "Project Falcon")]
    public = edition_sha256(build_edition(content(), 1, reds, "public"))
    assert public == edition_sha256(build_edition(content(), 1, reds, "public"))
    assert public != edition_sha256(build_edition(content(), 1, reds, "reviewer"))
    assert public != edition_sha256(build_edition(content(), 1, [], "public"))


def test_bad_redactions_are_refused() -> None:
    c = content()
    with pytest.raises(NotFoundError, match="no section 'capabilitie'"):
        check_new(c, [], red(1, "capabilitie", None))
    with pytest.raises(InputError, match="does not occur in section 'summary'"):
        check_new(c, [], red(1, "summary", "0.810"))
    with pytest.raises(InputError, match="empty"):
        check_new(c, [], red(1, "summary", "   "))
    existing = [red(1, "capabilities", None)]
    with pytest.raises(ConflictError, match="already withheld by R1"):
        check_new(c, existing, red(2, "capabilities.novel", "0.810"))
    with pytest.raises(ConflictError, match="already withheld everywhere"):
        check_new(c, [red(1, "summary", "Falcon")], red(2, "safeguards", "falcon"))


def test_a_justification_that_repeats_the_span_is_refused() -> None:
    leaky = red(1, "summary", "Project Falcon", why="Project Falcon is secret.")
    with pytest.raises(RedactionError, match="R1"):
        check_new(content(), [], leaky)


def test_a_span_the_templates_also_print_is_refused() -> None:
    # "Coverage date" is a fixed label of every edition's header.
    c = content().model_copy(
        update={
            "sections": (
                Section(
                    id="summary", title="Summary", blocks=(Paragraph(text="Coverage date soon."),)
                ),
            )
        }
    )
    new = red(1, "summary", "Coverage date")
    check_new(c, [], new)
    with pytest.raises(RedactionError, match="text scaleguard writes"):
        check_public(c, 1, "h", [new])


# -- properties ----------------------------------------------------------------------

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)
SECRET = st.text(alphabet="bcdfghjklmnpqrstvwxz", min_size=6, max_size=10).map(lambda s: "q" + s)


@st.composite
def report_and_spans(draw: st.DrawFn) -> tuple[ReportContent, list[tuple[str, str | None]]]:
    """Random paragraphs of words; each redaction is a section or a run of words in it."""
    sections = []
    for i in range(draw(st.integers(1, 4))):
        words = draw(st.lists(st.one_of(WORD, SECRET), min_size=1, max_size=12))
        sections.append(
            Section(id=f"s{i}", title=f"{i}", blocks=(Paragraph(text=" ".join(words)),))
        )
    c = ReportContent(meta=META, sections=tuple(sections))
    picks: list[tuple[str, str | None]] = []
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from(sections))
        block = section.blocks[0]
        assert isinstance(block, Paragraph)
        words = block.text.split()
        if draw(st.booleans()):
            picks.append((section.id, None))
            continue
        start = draw(st.integers(0, len(words) - 1))
        stop = draw(st.integers(start + 1, len(words)))
        picks.append((section.id, " ".join(words[start:stop])))
    return c, picks


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report_and_spans(), st.sampled_from(["legal", "privacy", "security", "commercial"]))
def test_redacting_never_leaks_and_every_redaction_is_listed(
    data: tuple[ReportContent, list[tuple[str, str | None]]], category: str
) -> None:
    c, picks = data
    accepted: list[Redaction] = []
    for section, span in picks:
        new = Redaction(
            number=len(accepted) + 1,
            section=section,
            span=span,
            category=category,  # type: ignore[arg-type]
            justification="Withheld under the policy.",
            by="rso",
        )
        try:
            check_new(c, accepted, new)
            check_public(c, 1, "h", [*accepted, new])
        except (InputError, ConflictError):
            continue
        accepted.append(new)
    assume(accepted)
    ed = build_edition(c, 1, accepted, "public")
    shown = public_text(c, accepted)
    for r in accepted:
        if r.span is not None:
            assert squash(r.span) not in shown
        else:
            section = ed.content.find(r.section)
            assert section is not None
            assert [b.kind for b in section.blocks] == ["redacted"]
    assert [n.label for n in ed.redactions] == [r.label for r in accepted]
    markdown = render_markdown(ed, "h", dates_of(ed, accepted))
    listed = markdown[markdown.index("## Redactions") :]
    for r in accepted:
        scope = "span" if r.span else "section"
        assert f"| {r.label} | {r.section[1:]} (§ {r.section}) | {scope} | {category} |" in listed


@settings(max_examples=60, deadline=None)
@given(st.lists(SECRET, min_size=1, max_size=6, unique=True))
def test_distinctive_spans_are_always_accepted(secrets: list[str]) -> None:
    """The guard is not vacuous: a span that occurs only in the content can always be hidden."""
    c = ReportContent(
        meta=META,
        sections=(Section(id="s", title="Part", blocks=(Paragraph(text=" and ".join(secrets)),)),),
    )
    accepted: list[Redaction] = []
    for word in secrets:
        new = red(len(accepted) + 1, "s", word)
        assume(not any(squash(word) in squash(r.span or "") for r in accepted))
        check_new(c, accepted, new)
        check_public(c, 1, "h", [*accepted, new])
        accepted.append(new)
    shown = public_text(c, accepted)
    assert all(word not in shown for word in secrets)
