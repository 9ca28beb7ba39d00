"""Charts drawn as SVG on the server: no script, readable when printed."""
from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 240, 8, 24, 8


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    points: str
    #: a series of one point draws no line: its point is drawn as a dot (x, y)
    dots: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    lines: list[Line]
    ticks: list[tuple[float, str]]  # (x, label)
    top: int  # the largest value, in the series' unit
    baseline: float


def line_chart(labels: list[str], series: list[tuple[str, str, list[int]]]) -> Chart | None:
    """Polylines for ``series`` (name, CSS class, values) over ``labels``, on one shared scale from zero."""
    if not labels:
        return None
    values = [v for _, _, vs in series for v in vs]
    top = max([*values, 1])
    bottom = min([*values, 0])
    span = top - bottom or 1
    inner_w = WIDTH - PAD_LEFT * 2
    inner_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    step = inner_w / max(len(labels) - 1, 1)

    def y(v: int) -> float:
        return round(PAD_TOP + inner_h * (top - v) / span, 1)

    lines = []
    for name, css, vs in series:
        points = [(round(PAD_LEFT + i * step, 1), y(v)) for i, v in enumerate(vs)]
        lines.append(Line(name, css, " ".join(f"{px},{py}" for px, py in points),
                          tuple(points) if len(points) == 1 else ()))
    every = max(1, len(labels) // 8)
    ticks = [(round(PAD_LEFT + i * step, 1), label) for i, label in enumerate(labels) if i % every == 0]
    return Chart(WIDTH, HEIGHT, lines, ticks, top, y(0))


BAR_HEIGHT, BAR_GAP, LABEL_WIDTH = 22, 8, 200


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as the reader reads it
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    left: int  # where the bars start, after their labels
    bar_height: int


def bar_chart(rows: list[tuple[str, int, str]]) -> BarChart | None:
    """Horizontal bars for ``rows`` (label, value, value as text), on one scale from zero: one bar per club."""
    if not rows:
        return None
    top = max([value for _, value, _ in rows] + [1])
    inner = WIDTH - LABEL_WIDTH - 90  # room for the value after the longest bar
    bars = [Bar(label, text, PAD_TOP + i * (BAR_HEIGHT + BAR_GAP), round(inner * max(value, 0) / top, 1))
            for i, (label, value, text) in enumerate(rows)]
    return BarChart(WIDTH, PAD_TOP * 2 + len(rows) * (BAR_HEIGHT + BAR_GAP), bars, LABEL_WIDTH, BAR_HEIGHT)
