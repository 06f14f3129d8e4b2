"""Inline SVG charts: one threshold's indicator across model generations.

Pure and deterministic: coordinates are rounded to one decimal and every
label is escaped, so the same chart always gives the same bytes. The chart
is accessible on its own (``role="img"``, a ``<title>`` and a ``<desc>``
that lists every value) and never relies on colour alone: each point is
labelled with its value and state, and the threshold lines are labelled.
The HTML page adds the same data as a table.
"""

from __future__ import annotations

from html import escape

from scaleguard.reports.assemble import num
from scaleguard.reports.model import Chart, ChartPoint

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 20, 56
#: Dark enough for 4.5:1 contrast on white; shapes and labels carry the meaning too.
STATE_COLOURS = {
    "crossed": "#a1001c",
    "ambiguous": "#8a4500",
    "alert": "#6b5200",
    "below": "#1b5e20",
    "missing": "#4d4d4d",
}
STATE_SHAPES = {"crossed": "square", "ambiguous": "diamond", "alert": "triangle"}


def _f(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _range(chart: Chart) -> tuple[float, float]:
    values = [chart.threshold]
    if chart.early_warning is not None:
        values.append(chart.early_warning)
    for p in chart.points:
        values.extend(v for v in (p.estimate, p.low, p.high) if v is not None)
    lo, hi = min(values), max(values)
    if lo >= 0 and hi <= 1:
        return 0.0, 1.0
    span = (hi - lo) or abs(hi) or 1.0
    return lo - span * 0.1, hi + span * 0.1


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{_f(x - 5)}" y="{_f(y - 5)}" width="10" height="10" fill="{colour}"/>'
    if shape == "diamond":
        pts = f"{_f(x)},{_f(y - 7)} {_f(x + 7)},{_f(y)} {_f(x)},{_f(y + 7)} {_f(x - 7)},{_f(y)}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if shape == "triangle":
        pts = f"{_f(x)},{_f(y - 7)} {_f(x + 7)},{_f(y + 6)} {_f(x - 7)},{_f(y + 6)}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="5" fill="{colour}"/>'


def _point(p: ChartPoint, x: float, scale: tuple[float, float], base: float) -> list[str]:
    lo, hi = scale
    plot_h = HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * plot_h

    out: list[str] = []
    if p.estimate is None:
        out.append(
            f'<text x="{_f(x)}" y="{_f(base - 8)}" text-anchor="middle" class="muted">'
            "no data</text>"
        )
        return out
    colour = STATE_COLOURS.get(p.state, STATE_COLOURS["missing"])
    if p.low is not None and p.high is not None:
        y1, y2 = y(p.low), y(p.high)
        out.append(
            f'<line x1="{_f(x)}" y1="{_f(y1)}" x2="{_f(x)}" y2="{_f(y2)}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        for yy in (y1, y2):
            out.append(
                f'<line x1="{_f(x - 6)}" y1="{_f(yy)}" x2="{_f(x + 6)}" y2="{_f(yy)}" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
    ye = y(p.estimate)
    out.append(_marker(STATE_SHAPES.get(p.state, "circle"), x, ye, colour))
    out.append(
        f'<text x="{_f(x + 10)}" y="{_f(ye + 4)}" fill="{colour}">'
        f"{escape(num(p.estimate))} {escape(p.state)}</text>"
    )
    return out


def render_svg(chart: Chart) -> str:
    """The chart as a standalone ``<svg>`` element."""
    lo, hi = _range(chart)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    def y(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * plot_h

    cid = escape(f"chart-{chart.id}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" class="chart" '
        f'aria-labelledby="{cid}-title {cid}-desc">',
        f'<title id="{cid}-title">{escape(chart.title)}</title>',
        f'<desc id="{cid}-desc">{escape(chart.description)}</desc>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#ffffff" '
        'stroke="#4d4d4d"/>',
    ]
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        yy = y(v)
        parts.append(
            f'<line x1="{LEFT}" y1="{_f(yy)}" x2="{LEFT + plot_w}" y2="{_f(yy)}" stroke="#d9d9d9"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{_f(yy + 4)}" text-anchor="end">{escape(f"{v:.2f}")}</text>'
        )
    lines = [("threshold", chart.threshold, "6 4", "#a1001c")]
    if chart.early_warning is not None:
        lines.append(("early warning", chart.early_warning, "2 3", "#6b5200"))
    for label, value, dash, colour in lines:
        yy = y(value)
        parts.append(
            f'<line x1="{LEFT}" y1="{_f(yy)}" x2="{LEFT + plot_w}" y2="{_f(yy)}" '
            f'stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
        )
        text = f"{label} {chart.comparator if label == 'threshold' else ''} {num(value)}"
        parts.append(
            f'<text x="{LEFT + plot_w + 6}" y="{_f(yy + 4)}" fill="{colour}">'
            f"{escape(' '.join(text.split()))}</text>"
        )
    n = max(len(chart.points), 1)
    for i, p in enumerate(chart.points):
        x = LEFT + (i + 0.5) * plot_w / n
        parts.extend(_point(p, x, (lo, hi), base))
        weight = ' font-weight="bold"' if p.covered else ""
        parts.append(
            f'<text x="{_f(x)}" y="{_f(base + 18)}" text-anchor="middle"{weight}>'
            f"{escape(p.label)}</text>"
        )
    parts.append(
        f'<text x="{_f(LEFT + plot_w / 2)}" y="{HEIGHT - 8}" text-anchor="middle">'
        "model generation (covered models in bold)</text>"
    )
    parts.append(
        f'<text x="14" y="{_f(TOP + plot_h / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_f(TOP + plot_h / 2)})">{escape(chart.y_label)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
