"""The hunt's staff charts as SVG drawn on the server: completions per day, stamps per station per hour.

Colours and fonts are SVG presentation attributes, which the strict Content-Security-Policy
allows (it forbids ``style``). Pages show a chart as a ``data:`` image beside a table of the same
numbers, with the chart in words as its alt text.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date

from markupsafe import escape

WIDTH = 340
BAR_COLOUR = "#16325c"  # the brand blue: 12:1 on white
AXIS_COLOUR = "#555555"
INK = "#1a1a1a"
FONT = 'font-family="system-ui, sans-serif"'
_PAD = 8
BARS_HEIGHT, _BARS_TOP, _BARS_BOTTOM, _MAX_SLOT = 170, 22, 28, 56.0
_GRID_LABEL, _GRID_ROW, _GRID_HEAD = 112, 26, 22
_NAME_CHARS = 15


def day_label(day: date) -> str:
    """``Tue 7 Apr``."""
    return f"{day:%a} {day.day} {day:%b}"


def data_uri(svg: str) -> str:
    """``svg`` as a ``data:`` URL for an ``<img>`` (the CSP allows data: images)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _open(height: int, description: str) -> list[str]:
    text = escape(description)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
            f'height="{height}" role="img" aria-label="{text}"><title>{text}</title>',
            f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>']


# --- completions per day --------------------------------------------------------------------


def completions_description(per_day: Sequence[tuple[date, int]]) -> str:
    """The completions chart in words."""
    if not per_day:
        return "Completed cards per day: no hunt days yet."
    return "Completed cards per day: " + ", ".join(f"{day_label(d)}: {n:,}" for d, n in per_day) + "."


def completions_chart(per_day: Sequence[tuple[date, int]]) -> str:
    """A bar per hunt day with its number of completed cards: a standalone SVG document."""
    parts = _open(BARS_HEIGHT, completions_description(per_day))
    baseline = BARS_HEIGHT - _BARS_BOTTOM
    parts.append(f'<line x1="{_PAD}" y1="{baseline}" x2="{WIDTH - _PAD}" y2="{baseline}" '
                 f'stroke="{AXIS_COLOUR}" stroke-width="1"/>')
    if not per_day:
        parts.append(f'<text x="{WIDTH / 2:g}" y="{BARS_HEIGHT / 2:g}" text-anchor="middle" font-size="14" '
                     f'fill="{AXIS_COLOUR}" {FONT}>No hunt days yet</text></svg>')
        return "".join(parts)
    slot = min((WIDTH - 2 * _PAD) / len(per_day), _MAX_SLOT)
    gap = min(10.0, slot * 0.25)
    top = max(n for _, n in per_day) or 1
    plot = baseline - _BARS_TOP
    for index, (day, count) in enumerate(per_day):
        x = _PAD + index * slot + gap / 2
        height = plot * count / top
        centre = x + (slot - gap) / 2
        parts.append(f'<rect x="{x:.1f}" y="{baseline - height:.1f}" width="{slot - gap:.1f}" '
                     f'height="{height:.1f}" fill="{BAR_COLOUR}"/>')
        parts.append(f'<text x="{centre:.1f}" y="{baseline - height - 5:.1f}" text-anchor="middle" font-size="13" '
                     f'font-weight="700" fill="{INK}" {FONT}>{count:,}</text>')
        parts.append(f'<text x="{centre:.1f}" y="{baseline + 18}" text-anchor="middle" font-size="11" '
                     f'fill="{AXIS_COLOUR}" {FONT}>{escape(f"{day.day} {day:%b}")}</text>')
    parts.append("</svg>")
    return "".join(parts)


# --- stamps per station per hour ------------------------------------------------------------


def hours_with_stamps(per_station: Mapping[str, Counter[int]]) -> list[int]:
    """The local hours from the first to the last with a stamp (none if nobody stamped)."""
    hours = [hour for counts in per_station.values() for hour, n in counts.items() if n]
    return list(range(min(hours), max(hours) + 1)) if hours else []


def station_hours_description(per_station: Mapping[str, Counter[int]]) -> str:
    """The station and hour chart in words: each station's stamps by hour."""
    if not any(sum(c.values()) for c in per_station.values()):
        return "Stamps per station per hour: none yet."
    parts = []
    for name, counts in per_station.items():
        hours = ", ".join(f"{h:02d}:00 {n}" for h, n in sorted(counts.items()) if n)
        parts.append(f"{name}: {hours}" if hours else f"{name}: none")
    return "Stamps per station per hour: " + "; ".join(parts) + "."


def station_hours_height(per_station: Mapping[str, Counter[int]]) -> int:
    """The grid chart's height: a header row and a row per station (one row when there are none)."""
    return _GRID_HEAD + max(1, len(per_station)) * _GRID_ROW + _PAD


def _short(name: str) -> str:
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "…"


def station_hours_chart(per_station: Mapping[str, Counter[int]]) -> str:
    """A grid: a row per station, a column per hour, each cell shaded by its stamps and labelled with them.

    :param per_station: station name -> stamps per local hour, as
        :func:`companion.hunt.queries.stamps_per_station_hour` gives it.
    """
    height = station_hours_height(per_station)
    parts = _open(height, station_hours_description(per_station))
    hours = hours_with_stamps(per_station)
    if not hours:
        parts.append(f'<text x="{WIDTH / 2:g}" y="{height / 2 + 5:g}" text-anchor="middle" font-size="14" '
                     f'fill="{AXIS_COLOUR}" {FONT}>No stamps yet on this day</text></svg>')
        return "".join(parts)
    cell = (WIDTH - _GRID_LABEL - _PAD) / len(hours)
    top = max(n for counts in per_station.values() for n in counts.values()) or 1
    every = max(1, -(-len(hours) * 26 // int(WIDTH - _GRID_LABEL - _PAD)))  # an hour label needs ~26 px
    for index, hour in enumerate(hours):
        if index % every == 0:
            parts.append(f'<text x="{_GRID_LABEL + (index + 0.5) * cell:.1f}" y="{_GRID_HEAD - 7}" '
                         f'text-anchor="middle" font-size="11" fill="{AXIS_COLOUR}" {FONT}>{hour:02d}h</text>')
    for row, (name, counts) in enumerate(per_station.items()):
        y = _GRID_HEAD + row * _GRID_ROW
        parts.append(f'<text x="{_PAD}" y="{y + 17}" font-size="12" fill="{INK}" {FONT}>{escape(_short(name))}</text>')
        for index, hour in enumerate(hours):
            count = counts.get(hour, 0)
            x = _GRID_LABEL + index * cell
            shade = 0.08 + 0.92 * count / top if count else 0.0
            parts.append(f'<rect x="{x + 1:.1f}" y="{y + 2}" width="{cell - 2:.1f}" height="{_GRID_ROW - 4}" '
                         f'fill="{BAR_COLOUR}" fill-opacity="{shade:.2f}" stroke="#d0d7e2" stroke-width="0.5"/>')
            if count and cell >= 14:
                colour = "#ffffff" if shade > 0.5 else INK
                parts.append(f'<text x="{x + cell / 2:.1f}" y="{y + 17}" text-anchor="middle" font-size="10" '
                             f'font-weight="700" fill="{colour}" {FONT}>{count}</text>')
    parts.append("</svg>")
    return "".join(parts)
