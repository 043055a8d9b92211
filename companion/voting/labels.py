"""Poster board labels: one square QR label per poster board, six to a sheet, as PDF.

Why reportlab: it is already how the project prints (badge sheets, :mod:`companion.badges.sheets`),
so the labels reuse its vector QR codes (``qr_matrix``/``draw_qr``: no raster images, sharp at any
printer resolution), its font choice (Helvetica for Latin-1, else embedded DejaVu Sans or a CJK
fallback, so titles in any script print and stay searchable) and its text fitting (``draw_text``).
No new dependency, no system library.

Layout: A4 or US Letter portrait, 2 columns x 3 rows of 85 x 85 mm labels, centred, with hairline
crop marks in the margins on every cut line (85 mm, not 90, so three rows leave a printable margin
on Letter too; the labels are the same size on both papers). Each label, top to bottom: the board
number in large bold type ("P12"), the poster title (fitted, at most two lines), the authors (one
line, fitted), the QR code of the poster's page (38 mm with its quiet zone) and a short caption.
The renderer takes plain values (:class:`PosterLabel`); :func:`poster_labels` builds them from
:class:`~companion.voting.models.Poster` rows, sorted by board number naturally (P2 before P10).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from companion.badges.sheets import BRAND, GREY, FontChooser, crop_marks, draw_qr, draw_text, qr_matrix
from companion.voting.models import Poster

log = logging.getLogger(__name__)

PAGES = {"a4": A4, "letter": LETTER}
LABEL, COLS, ROWS = 85 * mm, 2, 3
PER_PAGE = COLS * ROWS
QR_SIZE = 38 * mm  # with the quiet zone: about 1 mm a module for a typical poster URL
CAPTION = "Scan to read the abstract and vote"
PAD = 5 * mm  # text inset from the cut
TITLE_MIN = 7.0  # points: the smallest title size, below it the title is cut with "..."


@dataclass(frozen=True)
class PosterLabel:
    """What one board label shows; ``url`` is what its QR code encodes (the poster's page)."""

    board: str
    title: str
    authors: str
    url: str


def label_page_count(labels: int) -> int:
    """How many pages ``labels`` labels take (six a page)."""
    return -(-labels // PER_PAGE)


def board_sort_key(board: str) -> tuple[tuple[str | int, ...], str]:
    """Natural order of board numbers: "P2" before "P10", case-insensitive, "A3" before "B1"."""
    parts = re.split(r"(\d+)", board.strip().casefold())  # strings at even indexes, digits at odd ones
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), board


def poster_labels(posters: Iterable[Poster], url_for_poster: Callable[[Poster], str]) -> list[PosterLabel]:
    """The labels of ``posters``, sorted by board number naturally (P2 before P10).

    :param url_for_poster: the absolute URL of a poster's page (what its QR code encodes), e.g.
        ``lambda p: external_url("voting.poster", code=p.code)`` inside a request context.
    """
    ordered = sorted(posters, key=lambda p: board_sort_key(p.board))
    return [PosterLabel(p.board, p.title, p.authors, url_for_poster(p)) for p in ordered]


def shorten_to_lines(text: str, font: str, size: float, width: float, max_lines: int) -> str:
    """``text`` cut at a word and ended with "..." so that, wrapped word by word, it fills at most
    ``max_lines`` lines of ``width`` at ``size``; unchanged when it already fits.

    Without it, ``fit_text`` cuts each of its two lines separately and drops the middle of a very
    long title. Text without spaces (Chinese, Japanese) is one word, and a font without "." (the CJK
    fallback) cannot end it: both are left to ``fit_text``.
    """
    glyphs = getattr(pdfmetrics.getFont(font).face, "charToGlyph", None)  # None: a standard font, Latin-1
    if glyphs is not None and ord(".") not in glyphs:
        return text
    lines: list[list[str]] = [[]]
    for word in text.split():
        if lines[-1] and pdfmetrics.stringWidth(" ".join([*lines[-1], word]), font, size) > width:
            if len(lines) == max_lines:
                break
            lines.append([])
        lines[-1].append(word)
    else:
        return text
    last = lines[-1]
    while len(last) > 1 and pdfmetrics.stringWidth(" ".join(last) + "...", font, size) > width:
        last.pop()
    return " ".join(word for line in lines for word in line).rstrip(",;:.-") + "..."


def _label(canvas: Canvas, fonts: FontChooser, label: PosterLabel) -> None:
    """One label with its lower left at the origin."""
    w = h = LABEL
    inner = w - 2 * PAD
    draw_text(canvas, fonts, label.board, x=w / 2, y=h - 17 * mm, width=inner, max_size=34, min_size=12,
              bold=True, colour=BRAND)
    title = label.title.strip()
    if title:
        title = shorten_to_lines(title, fonts.pick(title, bold=True), TITLE_MIN, inner, 2)
    draw_text(canvas, fonts, title, x=w / 2, y=h - 26.5 * mm, width=inner, max_size=12, min_size=TITLE_MIN,
              bold=True, max_lines=2, middle=True)
    draw_text(canvas, fonts, label.authors, x=w / 2, y=h - 37 * mm, width=inner, max_size=9, min_size=6,
              colour=GREY)
    draw_qr(canvas, qr_matrix(label.url), (w - QR_SIZE) / 2, 8 * mm, QR_SIZE)
    draw_text(canvas, fonts, CAPTION, x=w / 2, y=5 * mm, width=inner, max_size=8, colour=GREY)


def render_labels(labels: Sequence[PosterLabel], out: BinaryIO, *, title: str, page: str = "a4") -> int:
    """Write the poster board labels PDF for ``labels`` (in that order, row by row) to ``out``.

    :param title: the conference's name: the PDF's title and a small header above each page's grid.
    :param page: ``"a4"`` or ``"letter"`` (portrait; the same 85 mm labels on both).
    :return: the number of pages written.
    :raise ValueError: if ``page`` is unknown or there is no label to print.
    :raise qrcode.exceptions.DataOverflowError: if a URL does not fit in a QR code.

    Texts with characters no installed font has are printed without them and logged as warnings.
    """
    if page not in PAGES:
        raise ValueError(f"unknown page size {page!r}; choose one of {', '.join(PAGES)}")
    if not labels:
        raise ValueError("no poster labels to print")
    width, height = PAGES[page]
    x0, y0 = (width - COLS * LABEL) / 2, (height - ROWS * LABEL) / 2
    fonts, pages = FontChooser(), label_page_count(len(labels))
    canvas = Canvas(out, pagesize=(width, height), pageCompression=1)
    canvas.setTitle(f"Poster labels: {title}")
    canvas.setCreator("Conference Companion")
    for number, start in enumerate(range(0, len(labels), PER_PAGE), start=1):
        crop_marks(canvas, x0=x0, y0=y0, cols=COLS, rows=ROWS, cell_w=LABEL, cell_h=LABEL,
                   vertical=(1.5 * mm, 6 * mm), horizontal=(1.5 * mm, 6 * mm))
        draw_text(canvas, fonts, f"{title} - poster labels, page {number} of {pages}", x=width / 2,
                  y=y0 + ROWS * LABEL + 7.5 * mm, width=COLS * LABEL - 20 * mm, max_size=7, min_size=5, colour=GREY)
        for index, label in enumerate(labels[start:start + PER_PAGE]):
            row, col = divmod(index, COLS)
            canvas.saveState()
            canvas.translate(x0 + col * LABEL, y0 + (ROWS - 1 - row) * LABEL)
            _label(canvas, fonts, label)
            canvas.restoreState()
        canvas.showPage()
    canvas.save()
    for message in fonts.messages():
        log.warning("poster labels: %s", message)
    return pages
