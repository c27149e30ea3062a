"""Server-drawn SVG charts for the job page (no script, no external library).

Every text that reaches the SVG (generator and annotator names are user data) is escaped.
Marks carry a class (`bar`, `point`, `interval`) so the browser tests can count them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH = 760
LABEL_WIDTH = 280
ROW_HEIGHT = 26
TOP = 30
BOTTOM = 30
ACCENT = "#1f5fbf"
SECOND = "#c26b12"
MUTED = "#5a6272"
LINE = "#d5d9e0"


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="#1d2330">{escape(text)}</text>'
    )


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _frame(title: str, height: float, body: list[str], chart_id: str) -> Markup:
    return Markup(
        f'<svg id="{chart_id}" class="chart" role="img" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg" aria-labelledby="{chart_id}-title">'
        f'<title id="{chart_id}-title">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


class _Axis:
    """A horizontal value axis from `low` to `high` across the plot area."""

    def __init__(self, low: float, high: float) -> None:
        if high <= low:
            low, high = low - 1, high + 1
        self.low, self.high = low, high
        self.left, self.right = LABEL_WIDTH, WIDTH - 70

    def x(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return self.left + share * (self.right - self.left)

    def draw(self, y: float, ticks: Sequence[float], fmt: str = "{:.0f}") -> list[str]:
        parts = [f'<line x1="{self.left}" y1="{y}" x2="{self.right}" y2="{y}" stroke="{MUTED}"/>']
        for tick in ticks:
            x = self.x(tick)
            parts.append(
                f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{y}" stroke="{LINE}"/>'
            )
            parts.append(_text(x, y + 16, fmt.format(tick), "middle", 11))
        return parts


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def ratings_chart(ratings: list[dict[str, Any]]) -> Markup | None:
    """Bradley-Terry ratings (Elo scale) as points with their 95 % bootstrap intervals."""
    if not ratings:
        return None
    values = [r["rating"] for r in ratings]
    values += [r[k] for r in ratings for k in ("ci_low", "ci_high") if r[k] is not None]
    pad = max(10.0, (max(values) - min(values)) * 0.08)
    axis = _Axis(min(values) - pad, max(values) + pad)
    height = TOP + ROW_HEIGHT * len(ratings) + BOTTOM
    body = [_text(axis.left, 16, "rating (Elo scale), line = 95 % interval", size=11)]
    body += axis.draw(height - BOTTOM, _nice_ticks(axis.low, axis.high))
    for index, row in enumerate(ratings):
        y = TOP + ROW_HEIGHT * index + ROW_HEIGHT / 2
        body.append(_text(axis.left - 8, y + 4, _short(row["generator"]), "end"))
        if row["ci_low"] is not None and row["ci_high"] is not None:
            x1, x2 = axis.x(row["ci_low"]), axis.x(row["ci_high"])
            body.append(
                f'<line class="interval" x1="{x1:.1f}" y1="{y}" x2="{x2:.1f}" y2="{y}" '
                f'stroke="{ACCENT}" stroke-width="2"/>'
            )
        x = axis.x(row["rating"])
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y}" r="5" fill="{ACCENT}">'
            f"<title>{escape(row['generator'])}: {row['rating']:.0f}</title></circle>"
        )
        body.append(_text(axis.right + 8, y + 4, f"{row['rating']:.0f}"))
    return _frame("Bradley-Terry ratings with 95 % intervals", height, body, "ratings-chart")


def win_rate_chart(win_rates: list[dict[str, Any]]) -> Markup | None:
    """Win rate of each generator against its opponent, per judge, with ±1 standard error."""
    if not win_rates:
        return None
    axis = _Axis(0, 100)
    height = TOP + ROW_HEIGHT * len(win_rates) + BOTTOM
    body = [_text(axis.left, 16, "win rate %, line = ±1 standard error", size=11)]
    body += axis.draw(height - BOTTOM, [0, 25, 50, 75, 100])
    for index, row in enumerate(win_rates):
        y = TOP + ROW_HEIGHT * index
        label = f"{row['generator']} vs {row['opponent']} · {row['judge']}"
        body.append(_text(axis.left - 8, y + ROW_HEIGHT / 2 + 4, _short(label, 35), "end"))
        width = axis.x(row["win_rate"]) - axis.left
        body.append(
            f'<rect class="bar" x="{axis.left}" y="{y + 5}" width="{width:.1f}" '
            f'height="{ROW_HEIGHT - 10}" fill="{ACCENT}"><title>{escape(label)}: '
            f"{row['win_rate']:.1f} % of {row['n']}</title></rect>"
        )
        if row["standard_error"] is not None:
            low = axis.x(max(0.0, row["win_rate"] - row["standard_error"]))
            high = axis.x(min(100.0, row["win_rate"] + row["standard_error"]))
            mid = y + ROW_HEIGHT / 2
            body.append(
                f'<line class="interval" x1="{low:.1f}" y1="{mid}" x2="{high:.1f}" y2="{mid}" '
                f'stroke="#1d2330" stroke-width="1.5"/>'
            )
        body.append(_text(axis.right + 8, y + ROW_HEIGHT / 2 + 4, f"{row['win_rate']:.1f}"))
    fifty = axis.x(50)
    body.append(
        f'<line x1="{fifty}" y1="{TOP - 6}" x2="{fifty}" y2="{height - BOTTOM}" '
        f'stroke="{MUTED}" stroke-dasharray="4 3"/>'
    )
    return _frame("Win rates by judge", height, body, "win-rate-chart")


BIASES = (("p_prefers_shown_first", "position", ACCENT), ("p_prefers_longer", "length", SECOND))


def bias_chart(evaluators: list[dict[str, Any]]) -> Markup | None:
    """Per annotator, how often it prefers the side shown first and the longer output.

    Bars start at 0.5 (no bias) and run left or right; an unmeasurable bias draws no bar.
    """
    rows = [row for row in evaluators if any(row.get(key) is not None for key, _, _ in BIASES)]
    if not rows:
        return None
    axis = _Axis(0, 1)
    group = ROW_HEIGHT * 1.4
    height = TOP + group * len(rows) + BOTTOM
    body = [
        _text(axis.left, 16, "P(prefers): ", size=11),
        f'<rect x="{axis.left + 70}" y="7" width="10" height="10" fill="{ACCENT}"/>',
        _text(axis.left + 84, 16, "side shown first (position)", size=11),
        f'<rect x="{axis.left + 250}" y="7" width="10" height="10" fill="{SECOND}"/>',
        _text(axis.left + 264, 16, "longer output (length)", size=11),
    ]
    body += axis.draw(height - BOTTOM, [0, 0.25, 0.5, 0.75, 1], "{:.2f}")
    centre = axis.x(0.5)
    for index, row in enumerate(rows):
        y = TOP + group * index
        body.append(_text(axis.left - 8, y + group / 2 + 4, _short(row["annotator"]), "end"))
        for offset, (key, name, colour) in enumerate(BIASES):
            value = row.get(key)
            if value is None:
                continue
            x = axis.x(value)
            bar_y = y + 4 + offset * (group - 8) / 2
            body.append(
                f'<rect class="bar bias-{name}" x="{min(x, centre):.1f}" y="{bar_y:.1f}" '
                f'width="{max(abs(x - centre), 1):.1f}" height="{(group - 8) / 2 - 1:.1f}" '
                f'fill="{colour}"><title>{escape(row["annotator"])} {name}: {value:.2f}'
                "</title></rect>"
            )
    body.append(
        f'<line x1="{centre}" y1="{TOP - 6}" x2="{centre}" y2="{height - BOTTOM}" '
        f'stroke="#1d2330"/>'
    )
    return _frame("Position and length bias by annotator", height, body, "bias-chart")


def statistics_charts(stats: dict[str, Any]) -> dict[str, Markup | None]:
    """Every chart of the statistics fragment, by name."""
    return {
        "ratings": ratings_chart(stats["ratings"]),
        "win_rates": win_rate_chart(stats["win_rates"]),
        "bias": bias_chart(stats["evaluators"]),
    }
