"""Risk Reports without a workspace: periods, assembly, risk rule, charts, cadence, rendering."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from html.parser import HTMLParser

import pytest

from scaleguard.errors import InputError
from scaleguard.framework.library import Library
from scaleguard.reports.assemble import SECTION_IDS, assemble
from scaleguard.reports.cadence import cadence_status, coverage_problem, coverage_rule
from scaleguard.reports.charts import render_svg
from scaleguard.reports.inputs import (
    DeterminationInfo,
    DomainInfo,
    IndicatorInfo,
    ModelInfo,
    ReportInputs,
    SafeguardInfo,
    ThresholdInfo,
)
from scaleguard.reports.model import Chart, ChartPoint, Table
from scaleguard.reports.period import parse_period, period_of
from scaleguard.reports.redact import build_edition
from scaleguard.reports.render import dates_of, md_table, render_html, render_markdown
from scaleguard.reports.risk import domain_risks

LIB = Library()


def _model(name: str, generation: int, covered: bool, parent: str | None = None) -> ModelInfo:
    return ModelInfo(
        name=name,
        developer="Lab",
        status="released",
        released_on=None,
        effective_compute=1e25 * generation,
        parent=parent,
        safeguards_level=None,
        generation=generation,
        covered=covered,
    )


def _det(model: str, threshold: str, state: str, estimate: float | None = 0.5) -> DeterminationInfo:
    return DeterminationInfo(
        model=model,
        threshold_id=threshold,
        indicator_id="ind" if state != "missing" else None,
        state=state,
        estimate=estimate if state != "missing" else None,
        low=(estimate - 0.05) if estimate is not None and state != "missing" else None,
        high=(estimate + 0.05) if estimate is not None and state != "missing" else None,
        method="bootstrap",
        evidence_ids=(1,),
        determination_id=1,
        ledger_index=10,
    )


def inputs(
    dets: tuple[DeterminationInfo, ...] = (),
    safeguards: tuple[SafeguardInfo, ...] = (),
    ambiguity: str = "needs_review",
) -> ReportInputs:
    indicator = IndicatorInfo("ind", "accuracy", "task", ">=", 0.7, 0.6)
    return ReportInputs(
        developer="Lab",
        period="2026-Q3",
        period_start=date(2026, 7, 1),
        period_end=date(2026, 9, 30),
        coverage_date=date(2026, 9, 30),
        drafted_on=date(2026, 10, 2),
        framework_ref="demo@1",
        framework_title="Demo framework",
        framework_ambiguity_policy=ambiguity,
        confidence=0.95,
        models=(_model("m-1", 1, False), _model("m-2", 2, True, "m-1")),
        domains=(
            DomainInfo("bio", "Biology", "in_scope", None),
            DomainInfo("cyber", "Cyber", "excluded", None),
            DomainInfo("empty", "Empty", "in_scope", None),
        ),
        thresholds=(
            ThresholdInfo(
                id="bio-1",
                name="Bio uplift",
                domain="bio",
                kind="threshold",
                level=1,
                level_label=None,
                description="Helps novices.",
                response="Apply safeguards.",
                required_safeguards=("asl-3",),
                ambiguity_policy="",
                indicators=(indicator,),
            ),
        ),
        determinations=dets,
        safeguards=safeguards,
        standard_names={"asl-3": "ASL-3"},
    )


def _attested(model: str = "m-2") -> SafeguardInfo:
    return SafeguardInfo(model, "asl-3", "ASL-3", "rso", "https://x.example", date(2026, 9, 1), 3)


# -- periods ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "start", "end"),
    [
        ("2026-Q3", "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("2026-q1", "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2024-H1", "2024-H1", date(2024, 1, 1), date(2024, 6, 30)),
        ("2024-02", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026-07-15..2026-08-01", "2026-07-15..2026-08-01", date(2026, 7, 15), date(2026, 8, 1)),
    ],
)
def test_periods_parse(text: str, label: str, start: date, end: date) -> None:
    period = parse_period(text)
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize(
    "text", ["2026-Q5", "2026", "Q3-2026", "2026-13", "2026-09-01..2026-08-01"]
)
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_period(text)


def test_period_of_a_day_is_its_quarter() -> None:
    assert period_of(date(2026, 11, 22)).label == "2026-Q4"


# -- assembly and the risk rule -------------------------------------------------------


def test_assembly_has_stable_unique_section_ids_and_is_deterministic() -> None:
    data = inputs((_det("m-2", "bio-1", "crossed", 0.8),))
    first, second = assemble(data), assemble(data)
    assert first == second
    ids = first.section_ids()
    assert len(ids) == len(set(ids))
    assert [s.id for s in first.sections] == list(SECTION_IDS)
    assert "threat-models.bio-1" in ids and "capabilities.bio-1" in ids


def test_charts_follow_generations_and_mark_covered_models() -> None:
    dets = (_det("m-1", "bio-1", "below", 0.3), _det("m-2", "bio-1", "crossed", 0.8))
    content = assemble(inputs(dets))
    section = content.find("capabilities.bio-1")
    assert section is not None
    chart = next(b for b in section.blocks if isinstance(b, Chart))
    assert [(p.label, p.covered, p.state) for p in chart.points] == [
        ("m-1", False, "below"),
        ("m-2", True, "crossed"),
    ]


def test_missing_evidence_is_said_and_never_below() -> None:
    content = assemble(inputs((_det("m-2", "bio-1", "missing"),)))
    section = content.find("capabilities.bio-1")
    assert section is not None
    text = " ".join(getattr(b, "text", "") for b in section.blocks)
    assert "missing" in text and "never read as below" in text


@pytest.mark.parametrize(
    ("state", "attested", "ambiguity", "level"),
    [
        ("below", False, "needs_review", "low"),
        ("missing", False, "needs_review", "unknown"),
        ("alert", False, "needs_review", "moderate"),
        ("ambiguous", False, "needs_review", "elevated"),
        ("ambiguous", False, "treat_as_crossed", "high"),
        ("ambiguous", True, "treat_as_crossed", "elevated"),
        ("crossed", False, "needs_review", "high"),
        ("crossed", True, "needs_review", "elevated"),
    ],
)
def test_domain_risk_rule(state: str, attested: bool, ambiguity: str, level: str) -> None:
    data = inputs(
        (_det("m-2", "bio-1", state, 0.7),),
        (_attested(),) if attested else (),
        ambiguity=ambiguity,
    )
    risks = {r.domain: r for r in domain_risks(data)}
    assert risks["bio"].level == level
    assert risks["cyber"].level == "not assessed"
    assert risks["empty"].level == "not assessed"


def test_missing_beats_below_and_crossed_beats_everything() -> None:
    dets = (_det("m-2", "bio-1", "below", 0.1),)
    two = replace(
        inputs(dets),
        thresholds=(
            *inputs().thresholds,
            replace(inputs().thresholds[0], id="bio-2", name="Bio novel"),
        ),
    )
    assert {r.domain: r.level for r in domain_risks(two)}["bio"] == "unknown"


def test_an_override_replaces_the_computed_state() -> None:
    det = replace(_det("m-2", "bio-1", "below", 0.2), override_state="crossed", override_by="rso")
    assert {r.domain: r.level for r in domain_risks(inputs((det,)))}["bio"] == "high"


# -- charts ---------------------------------------------------------------------------


def _chart() -> Chart:
    return Chart(
        id="bio-1--ind",
        title="Bio <uplift> & more",
        description="Values: m-1 0.300; m-2 0.812.",
        y_label="accuracy",
        comparator=">=",
        threshold=0.7,
        early_warning=0.6,
        points=(
            ChartPoint(label="m-0", state="missing"),
            ChartPoint(label="m-1", estimate=0.3, low=0.25, high=0.35, state="below"),
            ChartPoint(
                label="m-2", estimate=0.8123456, low=0.7, high=0.9, state="crossed", covered=True
            ),
        ),
    )


def test_svg_chart_is_accessible_deterministic_and_escaped() -> None:
    svg = render_svg(_chart())
    assert svg == render_svg(_chart())
    assert 'role="img"' in svg and "aria-labelledby=" in svg
    assert "<title id=" in svg and "<desc id=" in svg
    assert "Bio &lt;uplift&gt; &amp; more" in svg
    assert "0.812 crossed" in svg and "0.300 below" in svg  # state in text, not colour alone
    assert "no data" in svg and "threshold &gt;= 0.700" in svg
    numbers = re.findall(r'(?:x|y|x1|x2|y1|y2|cx|cy)="(-?\d+(?:\.\d+)?)"', svg)
    assert numbers and all(len(n.split(".")[1]) <= 1 for n in numbers if "." in n)


def test_chart_range_stretches_beyond_zero_to_one() -> None:
    chart = _chart().model_copy(update={"threshold": 40.0, "early_warning": 30.0})
    assert "40.000" in render_svg(chart)


# -- cadence and coverage ---------------------------------------------------------------


def test_cadence_states_at_their_boundaries() -> None:
    doc = LIB.get("anthropic-rsp@3.0").doc
    last = date(2026, 1, 15)
    opens, due = date(2026, 4, 15), date(2026, 7, 15)

    def state(day: date) -> str:
        return cadence_status(doc, day, last_report_id=1, last_published=last).state

    assert state(date(2026, 4, 14)) == "ok"
    assert state(opens) == "due"
    assert state(due) == "due"
    assert state(date(2026, 7, 16)) == "overdue"
    result = cadence_status(doc, opens, last_report_id=1, last_published=last)
    assert (result.window_opens, result.due_by, result.interval) == (opens, due, "P6M")


def test_without_a_report_the_clock_starts_when_the_framework_takes_effect() -> None:
    doc = LIB.get("anthropic-rsp@3.0").doc
    result = cadence_status(doc, date(2026, 9, 1))
    assert result.clock_start == doc.framework.effective_date
    assert result.state == "overdue"  # effective 2026-02-24 + P6M = 2026-08-24


def test_a_framework_without_a_report_cadence_says_so() -> None:
    doc = LIB.get("openai-preparedness@2.0").doc
    assert cadence_status(doc, date(2026, 9, 1)).state == "none"


def test_coverage_rule_applies_from_rsp_3_4() -> None:
    v30, v34 = LIB.get("anthropic-rsp@3.0").doc, LIB.get("anthropic-rsp@3.4").doc
    assert coverage_rule(v30) is None and coverage_rule(v34) is not None
    coverage = date(2026, 9, 30)
    assert coverage_problem(v34, coverage, date(2026, 10, 30)) is None
    problem = coverage_problem(v34, coverage, date(2026, 10, 31))
    assert problem is not None and "31 days" in problem
    assert coverage_problem(v30, coverage, date(2027, 1, 1)) is None
    after = coverage_problem(v30, coverage, date(2026, 9, 29))
    assert after is not None and "after the publication date" in after


# -- rendering --------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for key, value in attrs:
            if key in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)


def test_html_is_self_contained_accessible_and_deterministic() -> None:
    content = assemble(
        inputs((_det("m-1", "bio-1", "below", 0.3), _det("m-2", "bio-1", "crossed", 0.8)))
    )
    edition = build_edition(content, 7, [], "public")
    html = render_html(edition, "0" * 64, dates_of(edition, []))
    assert html == render_html(edition, "0" * 64, dates_of(edition, []))
    parser = _Links()
    parser.feed(html)
    assert parser.external == []
    assert "script" not in parser.tags and "link" not in parser.tags
    assert '<html lang="en">' in html and 'role="img"' in html
    assert "Data for the chart" in html  # the chart's table alternative
    assert 'name="dcterms.created" content="2026-10-02"' in html


def test_markdown_escapes_content_so_it_cannot_become_markup() -> None:
    table = md_table(["a", "b"], [["x | y", "*bold*"]])
    rows = table.splitlines()
    assert rows[2].count(" | ") == 1  # the pipe in the cell is escaped: still two columns
    assert r"\*bold\*" in rows[2] and r"x \| y" in rows[2]


def test_markdown_is_deterministic_and_lists_sections_in_order() -> None:
    content = assemble(inputs((_det("m-2", "bio-1", "crossed", 0.8),)))
    edition = build_edition(content, 7, [], "reviewer")
    md = render_markdown(edition, "0" * 64, dates_of(edition, []))
    assert md == render_markdown(edition, "0" * 64, dates_of(edition, []))
    positions = [md.index(f"*§ {sid}*") for sid in SECTION_IDS]
    assert positions == sorted(positions)
    assert isinstance(content.sections[0].blocks[1], Table)
