"""The tally as a horizontal bar chart, SVG drawn on the server (the hunt's chart conventions:
presentation attributes only, shown as a ``data:`` image with the numbers in words as alt text)."""

from __future__ import annotations

from markupsafe import escape

from companion.hunt.charts import AXIS_COLOUR, BAR_COLOUR, FONT, INK, WIDTH
from companion.voting.queries import Tally

ROW = 26
_LABEL = 54  # the board number column
_TOP = 8
TIE_COLOUR = "#8a4b00"  # posters tied first: amber, 7:1 on white


def tally_description(tally: Tally) -> str:
    """The chart in words: "Best poster, 120 votes: P12 40 (33.3 %), P3 40 (33.3 %), ..."."""
    if tally.total == 0:
        return f"{tally.category.name}: no votes yet."
    shown = ", ".join(f"{r.poster.board} {r.votes} ({r.percent:g} %)" for r in tally.rows if r.votes)
    return f"{tally.category.name}, {tally.total:,} votes: {shown}."


def tally_height(tally: Tally) -> int:
    """The chart's height for this many posters."""
    return _TOP * 2 + ROW * max(1, len(tally.rows))


def tally_chart(tally: Tally) -> str:
    """A bar per poster (most votes first; ties first in amber), its votes and share: an SVG document."""
    height = tally_height(tally)
    text = escape(tally_description(tally))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
             f'height="{height}" role="img" aria-label="{text}"><title>{text}</title>',
             f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>']
    top = max((r.votes for r in tally.rows), default=0) or 1
    room = WIDTH - _LABEL - 96
    tied = {p.id for p in tally.tied_first} if len(tally.tied_first) > 1 else set()
    for index, row in enumerate(tally.rows):
        y = _TOP + index * ROW
        width = room * row.votes / top
        colour = TIE_COLOUR if row.poster.id in tied else BAR_COLOUR
        parts.append(f'<text x="{_LABEL - 6}" y="{y + 17}" text-anchor="end" font-size="13" font-weight="700" '
                     f'fill="{INK}" {FONT}>{escape(row.poster.board)}</text>')
        parts.append(f'<rect x="{_LABEL}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" fill="{colour}"/>')
        parts.append(f'<text x="{_LABEL + width + 6:.1f}" y="{y + 17}" font-size="12" fill="{AXIS_COLOUR}" {FONT}>'
                     f'{row.votes:,} ({row.percent:g} %)</text>')
    parts.append("</svg>")
    return "".join(parts)
