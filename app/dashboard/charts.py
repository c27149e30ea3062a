"""Server-drawn SVG charts for the job page (no script, no external library).

Every text that reaches the SVG (generator and annotator names are user data) is escaped.
Marks carry a class (`bar`, `point`, `interval`) so the browser tests can count them. Charts are
drawn on a 900-unit-wide canvas with 14-unit text and fill the width of the page; on a narrow
screen their box scrolls sideways instead of the page. Long labels wrap onto a second line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH = 900
LABEL_WIDTH = 300
ROW_HEIGHT = 34
TOP = 40
BOTTOM = 36
FONT = 14
SMALL = 13
ACCENT = "#1f5fbf"
SECOND = "#c26b12"
MUTED = "#5a6272"
LINE = "#d5d9e0"
INK = "#1d2330"
LABEL_CHARS = 34  # characters per label line at FONT on LABEL_WIDTH

# name -> (title, the statistics table whose rows the chart draws)
CHARTS = {
    "ratings": ("Bradley-Terry ratings with 95 % intervals", "ratings"),
    "win_rates": ("Win rates by judge", "win_rates"),
    "bias": ("Position and length bias by annotator", "evaluators"),
    "validity": ("Human vs simulated win rate per generator", "simulator_leaderboards"),
}


def _text(
    x: float, y: float, text: str, anchor: str = "start", size: int = FONT, fill: str = INK
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}">{escape(text)}</text>'
    )


def _lines(text: str, limit: int = LABEL_CHARS) -> list[str]:
    """At most two lines of at most `limit` characters, broken at spaces where possible."""
    if len(text) <= limit:
        return [text]
    cut = text.rfind(" ", 0, limit + 1)
    cut = cut if cut > limit // 3 else limit
    first, rest = text[:cut].rstrip(), text[cut:].lstrip()
    if len(rest) > limit:
        rest = rest[: limit - 1] + "…"
    return [first, rest]


def _label(x: float, y_middle: float, text: str, anchor: str = "end") -> list[str]:
    """A label of one or two lines centred on y_middle; the full text is its tooltip."""
    lines = _lines(text)
    top = y_middle + 5 - (len(lines) - 1) * (FONT + 2) / 2
    parts = [
        f'<text x="{x:.1f}" y="{top + k * (FONT + 2):.1f}" text-anchor="{anchor}" '
        f'font-size="{FONT}" fill="{INK}"><title>{escape(text)}</title>{escape(line)}</text>'
        for k, line in enumerate(lines)
    ]
    return parts


def _frame(title: str, height: float, body: list[str], chart_id: str) -> Markup:
    return Markup(
        f'<svg id="{chart_id}" class="chart" role="img" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-labelledby="{chart_id}-title" '
        f'font-family="system-ui, sans-serif">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<rect width="{WIDTH}" height="{height:.0f}" fill="#ffffff"/>' + "".join(body) + "</svg>"
    )


class _Axis:
    """A horizontal value axis from `low` to `high` across the plot area."""

    def __init__(self, low: float, high: float, left: float = LABEL_WIDTH) -> None:
        if high <= low:
            low, high = low - 1, high + 1
        self.low, self.high = low, high
        self.left, self.right = left, WIDTH - 80

    def x(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return self.left + share * (self.right - self.left)

    def draw(self, top: float, y: float, ticks: Sequence[float], fmt: str = "{:.0f}") -> list[str]:
        parts = [f'<line x1="{self.left}" y1="{y}" x2="{self.right}" y2="{y}" stroke="{MUTED}"/>']
        for tick in ticks:
            x = self.x(tick)
            parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y}" stroke="{LINE}"/>')
            parts.append(_text(x, y + 20, fmt.format(tick), "middle", SMALL))
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
    body = [_text(axis.left, 22, "rating (Elo scale); line: 95 % interval", size=SMALL)]
    body += axis.draw(TOP - 6, height - BOTTOM, _nice_ticks(axis.low, axis.high))
    for index, row in enumerate(ratings):
        y = TOP + ROW_HEIGHT * index + ROW_HEIGHT / 2
        body += _label(axis.left - 10, y, row["generator"])
        if row["ci_low"] is not None and row["ci_high"] is not None:
            x1, x2 = axis.x(row["ci_low"]), axis.x(row["ci_high"])
            body.append(
                f'<line class="interval" x1="{x1:.1f}" y1="{y}" x2="{x2:.1f}" y2="{y}" '
                f'stroke="{ACCENT}" stroke-width="2.5"/>'
            )
        x = axis.x(row["rating"])
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y}" r="6" fill="{ACCENT}">'
            f"<title>{escape(row['generator'])}: {row['rating']:.0f}</title></circle>"
        )
        body.append(_text(axis.right + 10, y + 5, f"{row['rating']:.0f}"))
    return _frame(CHARTS["ratings"][0], height, body, "ratings-chart")


def win_rate_chart(win_rates: list[dict[str, Any]]) -> Markup | None:
    """Win rate of each generator against its opponent with ±1 standard error, in one panel per
    judge (the pooled `all` last), so bars of different judges are never mixed up."""
    if not win_rates:
        return None
    judges = list(dict.fromkeys(row["judge"] for row in win_rates if row["judge"] != "all"))
    if any(row["judge"] == "all" for row in win_rates):
        judges.append("all")
    axis = _Axis(0, 100)
    body = [_text(axis.left, 22, "win rate %; line: ±1 standard error; dashes: 50 %", size=SMALL)]
    y = TOP
    for judge in judges:
        rows = [row for row in win_rates if row["judge"] == judge]
        heading = "all judges pooled" if judge == "all" else f"judge: {judge}"
        body.append(
            f'<text class="facet" x="10" y="{y + 20:.1f}" font-size="{FONT + 1}" '
            f'font-weight="700" fill="{INK}">{escape(heading)}</text>'
        )
        y += 30
        panel_top = y
        for row in rows:
            label = f"{row['generator']} vs {row['opponent']}"
            middle = y + ROW_HEIGHT / 2
            body += _label(axis.left - 10, middle, label)
            width = axis.x(row["win_rate"]) - axis.left
            body.append(
                f'<rect class="bar" x="{axis.left}" y="{y + 7}" width="{width:.1f}" '
                f'height="{ROW_HEIGHT - 14}" fill="{ACCENT}"><title>{escape(judge)}: '
                f"{escape(label)}: {row['win_rate']:.1f} % of {row['n']}</title></rect>"
            )
            if row["standard_error"] is not None:
                low = axis.x(max(0.0, row["win_rate"] - row["standard_error"]))
                high = axis.x(min(100.0, row["win_rate"] + row["standard_error"]))
                body.append(
                    f'<line class="interval" x1="{low:.1f}" y1="{middle}" x2="{high:.1f}" '
                    f'y2="{middle}" stroke="{INK}" stroke-width="2"/>'
                )
            body.append(_text(axis.right + 10, middle + 5, f"{row['win_rate']:.1f}"))
            y += ROW_HEIGHT
        fifty = axis.x(50)
        body.append(
            f'<line x1="{fifty}" y1="{panel_top}" x2="{fifty}" y2="{y}" stroke="{MUTED}" '
            f'stroke-dasharray="4 3"/>'
        )
        y += 10
    body += axis.draw(TOP, y, [0, 25, 50, 75, 100])
    return _frame(CHARTS["win_rates"][0], y + BOTTOM, body, "win-rate-chart")


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
        _text(10, 22, "P(prefers):", size=SMALL),
        f'<rect x="100" y="11" width="12" height="12" fill="{ACCENT}"/>',
        _text(118, 22, "the side shown first (position)", size=SMALL),
        f'<rect x="360" y="11" width="12" height="12" fill="{SECOND}"/>',
        _text(378, 22, "the longer output (length)", size=SMALL),
    ]
    body += axis.draw(TOP - 6, height - BOTTOM, [0, 0.25, 0.5, 0.75, 1], "{:.2f}")
    centre = axis.x(0.5)
    for index, row in enumerate(rows):
        y = TOP + group * index
        body += _label(axis.left - 10, y + group / 2, row["annotator"])
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
        f'<line x1="{centre}" y1="{TOP - 6}" x2="{centre}" y2="{height - BOTTOM}" stroke="{INK}"/>'
    )
    return _frame(CHARTS["bias"][0], height, body, "bias-chart")


def validity_chart(leaderboards: list[dict[str, Any]]) -> Markup | None:
    """Each generator as a point: human win rate across, simulated win rate up; points on the
    diagonal are generators the simulators rate as the humans do."""
    if not leaderboards:
        return None
    size = 520
    left, top = 90, 30
    height = top + size + 70

    def px(value: float) -> float:
        return left + value / 100 * size

    def py(value: float) -> float:
        return top + size - value / 100 * size

    body = [
        f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="{MUTED}"/>',
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(100)}" y2="{py(100)}" stroke="{MUTED}" '
        f'stroke-dasharray="5 4"/>',
        _text(left + size / 2, top + size + 52, "human win rate %", "middle", SMALL),
        f'<text x="24" y="{top + size / 2}" font-size="{SMALL}" fill="{INK}" text-anchor="middle" '
        f'transform="rotate(-90 24 {top + size / 2})">simulated win rate %</text>',
    ]
    for tick in (0, 25, 50, 75, 100):
        body.append(_text(px(tick), top + size + 22, f"{tick}", "middle", SMALL))
        body.append(_text(left - 10, py(tick) + 5, f"{tick}", "end", SMALL))
    for row in leaderboards:
        x, y = px(row["human_win_rate"]), py(row["simulated_win_rate"])
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{ACCENT}">'
            f"<title>{escape(row['generator'])}: human {row['human_win_rate']:.1f} %, "
            f"simulated {row['simulated_win_rate']:.1f} %</title></circle>"
        )
        body.append(_text(x + 10, y - 8, row["generator"][:LABEL_CHARS], size=SMALL))
    return _frame(CHARTS["validity"][0], height, body, "validity-chart")


def statistics_charts(stats: dict[str, Any]) -> dict[str, Markup | None]:
    """Every chart of the statistics fragment, by name (the keys of CHARTS)."""
    return {
        "ratings": ratings_chart(stats["ratings"]),
        "win_rates": win_rate_chart(stats["win_rates"]),
        "bias": bias_chart(stats["evaluators"]),
        "validity": validity_chart(stats.get("simulator_leaderboards", [])),
    }
