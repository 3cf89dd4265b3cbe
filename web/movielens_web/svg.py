"""A chart as inline SVG: a line per series over the window, axes with units, a legend.

The y axis starts at 0 and ends at a round value above the highest point, with ticks at round
steps in the chart's unit (bytes in KiB, MiB, GiB; seconds in ms below one second). The x axis
is the window, in UTC. A series breaks where Prometheus had no sample for longer than two steps
(a daemon down, a quantile of no ratings). A chart without a series says so instead.
"""

from __future__ import annotations

import math
import time

from markupsafe import Markup, escape

from movielens_web.prometheus import ChartData, Series

WIDTH, PLOT_HEIGHT = 520, 180
LEFT, RIGHT, TOP, AXIS = 70, 16, 12, 34
LEGEND_ROW = 18
# Colours that stay apart for the eye (and on a grey screenshot).
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
)  # fmt: skip
BYTES = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))
WINDOW_NAMES = {"15m": "15 min", "1h": "1 h", "6h": "6 h", "24h": "24 h"}


def nice_top(highest: float) -> tuple[float, float]:
    """A round top of the y axis above ``highest`` and the step of its four or so ticks."""
    if highest <= 0:
        return 1.0, 0.25
    raw = highest / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return math.ceil(highest / step) * step, step


def scale(unit: str, highest: float) -> tuple[float, str]:
    """Divisor and suffix of the tick labels of an axis up to ``highest``."""
    if unit == "bytes":
        return next((d, s) for d, s in BYTES if highest >= d or d == 1)
    if unit == "s":
        return (0.001, "ms") if highest < 1 else (1.0, "s")
    return 1.0, unit


def label(value: float, divisor: float, suffix: str) -> str:
    number = f"{round(value / divisor, 2):g}"
    return f"{number} {suffix}".strip() if suffix != "/s" else f"{number}/s"


def time_ticks(start: float, end: float) -> list[float]:
    span = end - start
    every = next(s for s in (60, 300, 600, 900, 1800, 3600, 7200, 14400, 21600) if span / s <= 6)
    first = math.ceil(start / every) * every
    return [t for t in range(int(first), int(end) + 1, every)]


def segments(points: list[tuple[float, float]], gap: float) -> list[list[tuple[float, float]]]:
    out: list[list[tuple[float, float]]] = []
    for point in points:
        if not out or point[0] - out[-1][-1][0] > gap:
            out.append([])
        out[-1].append(point)
    return out


def _series_svg(s: Series, colour: str, x, y, gap: float) -> list[str]:
    parts = []
    for run in segments(s.points, gap):
        if len(run) == 1:
            ((t, v),) = run
            parts.append(f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="2" fill="{colour}"/>')
        else:
            coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
            parts.append(
                f'<polyline class="series" data-legend="{escape(s.legend)}" fill="none" '
                f'stroke="{colour}" stroke-width="1.5" points="{coords}"/>'
            )
    return parts


def render(data: ChartData, start: float, end: float, step: int, window: str) -> Markup:
    """The chart's SVG element (with the message in place of lines when it has none)."""
    chart = data.chart
    legend_rows = max(len(data.series), 1)
    height = TOP + PLOT_HEIGHT + AXIS + LEGEND_ROW * legend_rows
    plot_w = WIDTH - LEFT - RIGHT
    highest = max((v for s in data.series for _, v in s.points), default=0.0)
    divisor, suffix = scale(chart.unit, highest)
    top, tick = (v * divisor for v in nice_top(highest / divisor))

    def x(t: float) -> float:
        return LEFT + (t - start) / (end - start) * plot_w

    def y(v: float) -> float:
        return TOP + PLOT_HEIGHT - v / top * PLOT_HEIGHT

    out = [
        f'<svg class="chart" id="chart-{chart.key}" data-series="{len(data.series)}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(chart.title)}">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{PLOT_HEIGHT}" fill="#fff" '
        'stroke="#999"/>',
    ]
    for i in range(round(top / tick) + 1 if data.series else 0):
        v = i * tick
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#e4e4e4"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{escape(label(v, divisor, suffix))}</text>"
        )
    for t in time_ticks(start, end):
        out.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP + PLOT_HEIGHT}" '
            f'y2="{TOP + PLOT_HEIGHT + 4}" stroke="#999"/>'
            f'<text x="{x(t):.1f}" y="{TOP + PLOT_HEIGHT + 16}" text-anchor="middle" '
            f'font-size="11">{time.strftime("%H:%M", time.gmtime(t))}</text>'
        )
    out.append(
        f'<text x="{LEFT + plot_w}" y="{TOP + PLOT_HEIGHT + 30}" text-anchor="end" '
        f'font-size="11" fill="#555">UTC, last {WINDOW_NAMES.get(window, window)}</text>'
    )
    legend_y = TOP + PLOT_HEIGHT + AXIS + 12
    if data.error or not data.series:
        message = data.error or f"No data yet over the last {WINDOW_NAMES.get(window, window)}."
        out.append(
            f'<text class="message" x="{LEFT + plot_w / 2}" y="{TOP + PLOT_HEIGHT / 2}" '
            f'text-anchor="middle" font-size="13" fill="#444">{escape(message)}</text>'
        )
    for i, s in enumerate(data.series):
        colour = PALETTE[i % len(PALETTE)]
        out += _series_svg(s, colour, x, y, 2.5 * step)
        row = legend_y + i * LEGEND_ROW
        out.append(
            f'<g class="legend"><rect x="{LEFT}" y="{row - 9}" width="14" height="4" '
            f'fill="{colour}"/><text x="{LEFT + 20}" y="{row - 4}" font-size="12">'
            f"{escape(s.legend)}</text></g>"
        )
    out.append("</svg>")
    return Markup("\n".join(out))
