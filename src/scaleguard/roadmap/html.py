"""The public report card as one self-contained HTML page with an accessible SVG chart.

No scripts, fonts or images from anywhere: CSS and the chart are inline. The
chart is stacked horizontal bars (one per area, one segment per grade); each
grade has its own fill pattern and every segment is labelled with its count,
so nothing depends on colour alone, and the same numbers are in a table.
Coordinates are integers and the input is the report card alone, so two
renders are byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from scaleguard.roadmap.model import AREA_LABELS, AREAS, GRADE_LABELS, GRADES, Grade, ReportCard
from scaleguard.roadmap.render import FLAG, SYMBOLS, is_web_url

#: Per grade: base colour, pattern ink, and pattern shape (a few SVG elements in a 8x8 tile).
PATTERNS: dict[Grade, tuple[str, str, str]] = {
    "achieved_on_time": ("#1a7f37", "#1a7f37", ""),
    "achieved_late": ("#b7e4c0", "#1a7f37", '<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4"/>'),
    "on_track": ("#d6e6f8", "#1f4e96", '<circle cx="4" cy="4" r="1.6"/>'),
    "at_risk": ("#fbe3a3", "#7a4a00", '<path d="M0,0 l8,8 M8,0 l-8,8"/>'),
    "missed": ("#f4b6b0", "#a3130a", '<path d="M0,2 h8 M0,6 h8"/>'),
    "withdrawn": ("#eeeeee", "#4d4d4d", '<path d="M2,0 v8 M6,0 v8"/>'),
}

LABEL_WIDTH = 130
BAR_WIDTH = 520
ROW_HEIGHT = 34
BAR_HEIGHT = 22
TOP = 10
LEGEND_ROW = 24


@dataclass(frozen=True)
class Segment:
    grade: Grade
    label: str
    count: int
    x: int
    width: int
    show_count: bool


@dataclass(frozen=True)
class Bar:
    area: str
    label: str
    total: int
    y: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class LegendItem:
    grade: Grade
    label: str
    symbol: str
    x: int
    y: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    legend: tuple[LegendItem, ...]
    description: str


def _segments(counts: dict[Grade, int], unit: float) -> tuple[Segment, ...]:
    out: list[Segment] = []
    x = LABEL_WIDTH
    for grade in GRADES:
        n = counts[grade]
        if not n:
            continue
        width = round(n * unit)
        out.append(Segment(grade, GRADE_LABELS[grade], n, x, width, width >= 18))
        x += width
    return tuple(out)


def chart(card: ReportCard) -> Chart:
    """Geometry of the chart: integer coordinates, a common scale for every bar."""
    widest = max([a.total for a in card.areas] + [1])
    unit = BAR_WIDTH / widest
    bars = tuple(
        Bar(
            a.area,
            a.label,
            a.total,
            TOP + i * ROW_HEIGHT,
            _segments(a.counts, unit),
        )
        for i, a in enumerate(card.areas)
    )
    legend_top = TOP + len(bars) * ROW_HEIGHT + 12
    legend = tuple(
        LegendItem(
            g, GRADE_LABELS[g], SYMBOLS[g], 10 + (i % 3) * 220, legend_top + (i // 3) * LEGEND_ROW
        )
        for i, g in enumerate(GRADES)
    )
    height = legend_top + 2 * LEGEND_ROW + 4
    parts = []
    for a in card.areas:
        if a.total == 0:
            parts.append(f"{a.label}: no goals")
            continue
        counts = ", ".join(f"{a.counts[g]} {GRADE_LABELS[g]}" for g in GRADES if a.counts[g])
        parts.append(f"{a.label}: {a.total} goal(s), {counts}")
    description = "; ".join(parts) + "."
    return Chart(LABEL_WIDTH + BAR_WIDTH + 40, height, bars, legend, description)


_ENV: Environment | None = None


def _environment() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=PackageLoader("scaleguard.roadmap", "templates"),
            autoescape=select_autoescape(["html", "j2"], default_for_string=True),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        _ENV.tests["web_url"] = is_web_url
    return _ENV


def card_html(card: ReportCard, *, title: str) -> str:
    """The report card page; the same card and title always give the same bytes."""
    template = _environment().get_template("roadmap_card.html.j2")
    return template.render(
        card=card,
        title=title,
        chart=chart(card),
        patterns=PATTERNS,
        grades=GRADES,
        grade_labels=GRADE_LABELS,
        symbols=SYMBOLS,
        areas=AREAS,
        area_labels=AREA_LABELS,
        flag=FLAG,
    )
