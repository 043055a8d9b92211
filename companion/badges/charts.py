"""Check-ins per hour as an SVG bar chart, drawn on the server: no JavaScript, no chart library.

Colours and fonts are SVG presentation attributes, which the strict Content-Security-Policy
allows (it forbids ``style`` attributes, not ``fill``).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import escape

from companion.badges.queries import HourCount

WIDTH = 340
HEIGHT = 190
_LEFT, _RIGHT, _TOP, _BOTTOM = 8, 8, 22, 28
BAR_COLOUR = "#16325c"  # the brand blue: 12:1 on white
AXIS_COLOUR = "#555555"
FONT = 'font-family="system-ui, sans-serif"'
MAX_SLOT = 44.0


def _label_every(n: int) -> int:
    """Label every bar up to 8 bars, then every 2nd, 3rd ... so labels never overlap."""
    return max(1, -(-n // 8))


def chart_description(hours: Sequence[HourCount]) -> str:
    """The chart in words, for screen readers and the image's alt text."""
    if not hours:
        return "Check-ins per hour today: none yet."
    parts = ", ".join(f"{h.label}: {h.count}" for h in hours)
    return f"Check-ins per hour today: {parts}."


def hourly_bar_chart(hours: Sequence[HourCount]) -> str:
    """A standalone SVG document: one bar per hour with its count above and its hour below.

    :param hours: consecutive hours, as :func:`companion.badges.queries.check_in_stats` gives them.
    """
    description = escape(chart_description(hours))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{description}">',
        f"<title>{description}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    baseline = HEIGHT - _BOTTOM
    parts.append(f'<line x1="{_LEFT}" y1="{baseline}" x2="{WIDTH - _RIGHT}" y2="{baseline}" '
                 f'stroke="{AXIS_COLOUR}" stroke-width="1"/>')
    if not hours:
        parts.append(f'<text x="{WIDTH / 2:g}" y="{HEIGHT / 2:g}" text-anchor="middle" font-size="15" '
                     f'fill="{AXIS_COLOUR}" {FONT}>No check-ins yet today</text>')
        parts.append("</svg>")
        return "".join(parts)

    plot_width = WIDTH - _LEFT - _RIGHT
    plot_height = baseline - _TOP
    slot = min(plot_width / len(hours), MAX_SLOT)  # a single hour is a bar, not a wall
    gap = min(6.0, slot * 0.2)
    top = max(h.count for h in hours) or 1
    every = _label_every(len(hours))
    for index, hour in enumerate(hours):
        x = _LEFT + index * slot + gap / 2
        height = plot_height * hour.count / top
        y = baseline - height
        centre = x + (slot - gap) / 2
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - gap:.1f}" height="{height:.1f}" fill="{BAR_COLOUR}"/>')
        if hour.count:
            parts.append(f'<text x="{centre:.1f}" y="{y - 5:.1f}" text-anchor="middle" font-size="13" '
                         f'font-weight="700" fill="#1a1a1a" {FONT}>{hour.count}</text>')
        if index % every == 0:
            parts.append(f'<text x="{centre:.1f}" y="{baseline + 18}" text-anchor="middle" font-size="12" '
                         f'fill="{AXIS_COLOUR}" {FONT}>{escape(hour.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
