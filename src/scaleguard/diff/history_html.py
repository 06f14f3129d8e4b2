"""A framework's history as one self-contained HTML page with an accessible timeline chart.

Nothing is loaded from anywhere: CSS and the SVG chart are inline, there are no
scripts. The chart puts the versions on a timeline (evenly spaced, each
labelled with its version and effective date) and, between two versions, one
bar per count of that step: weakening, unclear, strengthening, unannounced.
Each count has the fill pattern the roadmap report card uses for the grade of
the same meaning, every bar is labelled with its number, and the same numbers
are in a table, so nothing depends on colour alone. Coordinates are integers
and the input is the history alone, so two renders are byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from scaleguard.diff.history import STEP_COUNTS, FrameworkHistory, StepCount
from scaleguard.diff.history_render import (
    COUNT_LABELS,
    UNANNOUNCED_NOTE,
    finding_body,
    headline,
)
from scaleguard.roadmap.html import PATTERNS
from scaleguard.roadmap.render import is_web_url

#: The counts drawn as bars (neutral changes are in the table, not the chart).
CHART_COUNTS: tuple[StepCount, ...] = ("weakening", "unclear", "strengthening", "unannounced")
#: Each count borrows the report card's pattern for the grade with the same meaning.
COUNT_PATTERNS: dict[StepCount, tuple[str, str, str]] = {
    "weakening": PATTERNS["missed"],
    "unclear": PATTERNS["at_risk"],
    "strengthening": PATTERNS["achieved_on_time"],
    "unannounced": PATTERNS["withdrawn"],
}

LEFT = 56
SPACING = 92
MIN_WIDTH = 560
TOP = 22
BAR_MAX = 110
BAR_WIDTH = 14
BAR_GAP = 3
AXIS_GAP = 22
LEGEND_ITEM = 150


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    count: int
    x: int
    y: int
    height: int
    text_y: int


@dataclass(frozen=True)
class StepMark:
    label: str
    center: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class VersionMark:
    version: str
    date: str
    x: int


@dataclass(frozen=True)
class LegendItem:
    key: str
    label: str
    x: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: int
    axis_y: int
    axis_from: int
    axis_to: int
    versions: tuple[VersionMark, ...]
    steps: tuple[StepMark, ...]
    legend: tuple[LegendItem, ...]
    legend_y: int
    description: str


def chart(h: FrameworkHistory) -> Chart:
    """Geometry of the timeline: integer coordinates, one scale for every bar."""
    n = len(h.versions)
    width = max(MIN_WIDTH, 2 * LEFT + (n - 1) * SPACING)
    offset = (width - (n - 1) * SPACING) // 2
    xs = [offset + i * SPACING for i in range(n)]
    baseline = TOP + BAR_MAX
    axis_y = baseline + AXIS_GAP
    tallest = max([s.counts[k] for s in h.steps for k in CHART_COUNTS] + [1])
    group = len(CHART_COUNTS) * BAR_WIDTH + (len(CHART_COUNTS) - 1) * BAR_GAP
    steps: list[StepMark] = []
    for i, s in enumerate(h.steps):
        center = (xs[i] + xs[i + 1]) // 2
        start = center - group // 2
        bars: list[Bar] = []
        for j, key in enumerate(CHART_COUNTS):
            count = s.counts[key]
            height = 0 if count == 0 else max(2, round(count * BAR_MAX / tallest))
            bars.append(
                Bar(
                    key=key,
                    label=COUNT_LABELS[key],
                    count=count,
                    x=start + j * (BAR_WIDTH + BAR_GAP),
                    y=baseline - height,
                    height=height,
                    text_y=baseline - height - 4,
                )
            )
        steps.append(StepMark(s.label, center, tuple(bars)))
    versions = tuple(
        VersionMark(v.version, v.effective_date, x) for v, x in zip(h.versions, xs, strict=True)
    )
    legend_y = axis_y + 52
    legend_left = (width - len(CHART_COUNTS) * LEGEND_ITEM) // 2
    legend = tuple(
        LegendItem(k, COUNT_LABELS[k], legend_left + i * LEGEND_ITEM)
        for i, k in enumerate(CHART_COUNTS)
    )
    return Chart(
        width=width,
        height=legend_y + 26,
        baseline=baseline,
        axis_y=axis_y,
        axis_from=xs[0] - 20,
        axis_to=xs[-1] + 20,
        versions=versions,
        steps=tuple(steps),
        legend=legend,
        legend_y=legend_y,
        description=_description(h),
    )


def _description(h: FrameworkHistory) -> str:
    dates = "; ".join(f"version {v.version} effective {v.effective_date}" for v in h.versions)
    if not h.steps:
        return f"Timeline of {h.framework_id}: {dates}. Only one version, nothing compared."
    steps = "; ".join(
        f"{s.label}: " + ", ".join(f"{s.counts[k]} {k}" for k in CHART_COUNTS) for s in h.steps
    )
    return f"Timeline of {h.framework_id}: {dates}. Changes per step: {steps}."


_ENV: Environment | None = None


def _environment() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=PackageLoader("scaleguard.diff", "templates"),
            autoescape=select_autoescape(["html", "j2"], default_for_string=True),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        _ENV.tests["web_url"] = is_web_url
    return _ENV


def history_html(h: FrameworkHistory) -> str:
    """The history page; the same history always gives the same bytes."""
    template = _environment().get_template("history.html.j2")
    return template.render(
        h=h,
        headline=headline(h),
        chart=chart(h),
        patterns=COUNT_PATTERNS,
        chart_counts=CHART_COUNTS,
        step_counts=STEP_COUNTS,
        count_labels=COUNT_LABELS,
        finding_body=finding_body,
        unannounced_note=UNANNOUNCED_NOTE,
    )
