"""Badge sheets: one badge per A6 page, or six 4x3 in badges per US Letter page, as PDF.

Why reportlab: one well-kept library (since 2000, BSD, regular releases) that writes PDF from
Python with no system library: pure Python (the optional ``rl_accel`` package adds C accelerators),
TrueType subsets embedded with a ToUnicode map (names stay searchable), and Form XObjects: the
back, the same on every badge, is drawn once and placed by reference on every back page.
QR codes are vector squares (no raster images): ``qrcode`` computes the matrix (error correction
M, quiet zone 4), each row's run of dark modules is one rectangle, one filled path per code.
Fonts: Helvetica for Latin-1, else DejaVu Sans (Debian ``fonts-dejavu-core``) embedded, else a CJK
TrueType fallback (Debian ``fonts-droid-fallback``); what cannot be printed becomes a warning.
The renderer takes plain values (:class:`BadgeFace`, :class:`SheetInfo`); the loaders at the end
build them from the database. Duplex: A6 backs follow their fronts; a Letter back sheet follows
its front sheet with the columns mirrored, so backs line up when flipped on the long edge.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import BinaryIO

from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.lib.pagesizes import A6, LETTER
from reportlab.lib.units import inch, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import or_, select

from companion.accounts.models import Attendee, User
from companion.badges.qr import make_code
from companion.badges.wifi import wifi_payload
from companion.extensions import db
from companion.schedule.models import Conference
from companion.urls import external_url

LAYOUTS = ("a6", "letter-4x3")
BRAND, GREY = HexColor("#16325c"), HexColor("#4a4a4a")
FONT_DIR = Path("/usr/share/fonts/truetype")
UNICODE_FONTS = (  # (name, regular, bold) tried in order for text outside Latin-1
    ("DejaVuSans", FONT_DIR / "dejavu/DejaVuSans.ttf", FONT_DIR / "dejavu/DejaVuSans-Bold.ttf"),
    ("DroidSansFallback", FONT_DIR / "droid/DroidSansFallbackFull.ttf", None),
)
MAX_LISTED_FONT_PROBLEMS = 10
NO_WIFI_NOTE = "Wi-Fi: ask at the registration desk."
CARD_W, CARD_H, COLS, ROWS = 4 * inch, 3 * inch, 2, 3  # Letter: 2 x 3 badges of 4x3 in, centred
PER_SHEET = COLS * ROWS
GRID_X0, GRID_Y0 = (LETTER[0] - COLS * CARD_W) / 2, (LETTER[1] - ROWS * CARD_H) / 2
NAME_FOLD = str.maketrans("łøđħı", "lodhi")  # letters NFKD does not split, sorted with their base letter


@dataclass(frozen=True)
class BadgeFace:
    """What the front of one badge shows; ``badge_url`` is what its QR encodes (<base>/b/<token>)."""

    name: str
    company: str | None
    ticket_type: str | None
    badge_url: str


@dataclass(frozen=True)
class SheetInfo:
    """What every badge shares: the title on the front, the Wi-Fi and app codes on the back."""

    conference_title: str
    app_url: str
    wifi_ssid: str | None = None
    wifi_password: str | None = None


@dataclass
class SheetResult:
    """What was written: counts for the summary line, warnings for the person printing."""

    badges: int
    pages: int
    warnings: list[str] = field(default_factory=list)


def page_count(badges: int, layout: str) -> int:
    """How many pages ``badges`` badges take in ``layout``, fronts and backs."""
    return 2 * badges if layout == "a6" else 2 * -(-badges // PER_SHEET)


# --- QR codes and text --------------------------------------------------------------------------


@dataclass(frozen=True)
class QrMatrix:
    """A QR code as PDF path operators in module units, origin at the quiet zone's lower left."""

    modules: int  # width and height, quiet zone included
    ops: str


def qr_matrix(payload: str) -> QrMatrix:
    """Encode ``payload`` (error correction M, quiet zone 4), one rectangle per run of dark modules.

    :raise qrcode.exceptions.DataOverflowError: if the payload does not fit in a QR code.
    """
    rows = make_code(payload).get_matrix()
    parts: list[str] = []
    for r, row in enumerate(rows):
        x = 0
        for dark, run in groupby(row):
            width = sum(1 for _ in run)
            if dark:
                parts.append(f"{x} {len(rows) - 1 - r} {width} 1 re")
            x += width
    parts.append("f")  # one fill for the whole path: no seams between rectangles
    return QrMatrix(len(rows), "\n".join(parts))


shared_qr_matrix = lru_cache(maxsize=16)(qr_matrix)  # the Wi-Fi and app codes, the same on every back


def draw_qr(canvas: Canvas, matrix: QrMatrix, x: float, y: float, size: float) -> None:
    """Draw ``matrix`` with its lower left at (x, y), ``size`` points wide including the quiet zone."""
    scale = size / matrix.modules  # q ... Q keeps the scale and the black fill (0 g) inside the code
    canvas.addLiteral(f"q {scale:.5f} 0 0 {scale:.5f} {x:.3f} {y:.3f} cm 0 g\n{matrix.ops}\nQ")


@lru_cache(maxsize=1)
def _unicode_fonts() -> tuple[tuple[str, str, frozenset[int]], ...]:
    """Register the installed Unicode fonts once: (regular name, bold name, code points covered)."""
    found = []
    for name, regular, bold in UNICODE_FONTS:
        try:
            pdfmetrics.registerFont(TTFont(name, str(regular)))
            bold_name = name
            if bold is not None and bold.is_file():
                pdfmetrics.registerFont(TTFont(bold_name := f"{name}-Bold", str(bold)))
        except (OSError, TTFError):
            continue  # not installed or unreadable: try the next one
        found.append((name, bold_name, frozenset(pdfmetrics.getFont(name).face.charToGlyph)))  # type: ignore[attr-defined]
    return tuple(found)


class FontChooser:
    """Picks a font that has every character of a text; collects what could not be printed."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}  # text -> message, once per text

    def pick(self, text: str, *, bold: bool = False, mono: bool = False) -> str:
        """The font to draw ``text`` with (registering TrueType fonts on first use)."""
        if all(ord(ch) < 256 for ch in text):
            return ("Courier" if mono else "Helvetica") + ("-Bold" if bold else "")
        needed = {ord(ch) for ch in text if not ch.isspace()}
        fonts = _unicode_fonts()
        for regular, bold_name, covered in fonts:
            if needed <= covered:
                return bold_name if bold else regular
        if not fonts:
            self.problems.setdefault(text, f"{text!r} is printed with Helvetica and loses its characters outside "
                                           f"Latin-1: {UNICODE_FONTS[0][1]} is missing (Debian fonts-dejavu-core)")
            return "Helvetica-Bold" if bold else "Helvetica"
        missing = "".join(sorted(chr(c) for c in needed - fonts[0][2]))
        self.problems.setdefault(text, f"no installed font has the characters {missing!r} of {text!r}, they are left "
                                       "out (for Chinese, Japanese and Korean: Debian fonts-droid-fallback)")
        return fonts[0][1] if bold else fonts[0][0]

    def messages(self) -> list[str]:
        """The problems, the first few in full and the rest counted."""
        problems, rest = list(self.problems.values()), len(self.problems) - MAX_LISTED_FONT_PROBLEMS
        return problems[:MAX_LISTED_FONT_PROBLEMS] + [f"... and {rest} more texts with missing characters"] * (rest > 0)


def fit_text(text: str, font: str, width: float, max_size: float, min_size: float,
             max_lines: int = 1) -> tuple[tuple[str, ...], float]:
    """The lines and font size that fit ``text`` into ``width``: the largest size up to
    ``max_size``, wrapped onto two lines when that is clearly larger.

    Below ``min_size`` the text stays at ``min_size`` and is cut with "...": it never runs off.
    """
    def size_for(lines: tuple[str, ...]) -> float:
        widest = max(pdfmetrics.stringWidth(line, font, 1) for line in lines)
        return min(max_size, width / widest) if widest else max_size

    words = text.split()
    best: tuple[str, ...] = (" ".join(words),)
    best_size = size_for(best)
    if max_lines >= 2 and best_size < max_size and len(words) > 1:
        two = max(((" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))), key=size_for)
        if size_for(two) > best_size * 1.15:  # one line reads better unless two are clearly larger
            best, best_size = two, size_for(two)
    if best_size < min_size:
        best, best_size = tuple(_cut_to_width(line, font, min_size, width) for line in best), min_size
    return best, best_size


def _cut_to_width(line: str, font: str, size: float, width: float) -> str:
    if pdfmetrics.stringWidth(line, font, size) <= width:
        return line
    while line and pdfmetrics.stringWidth(line + "...", font, size) > width:
        line = line[:-1]
    return line.rstrip() + "..."


def draw_text(canvas: Canvas, fonts: FontChooser, text: str | None, *, x: float, y: float, width: float,
              max_size: float, min_size: float = 6, bold: bool = False, mono: bool = False,
              colour: Color = black, align: str = "center", max_lines: int = 1, middle: bool = False) -> None:
    """Draw ``text`` fitted to ``width``: ``x`` is its centre (or left edge with ``align="left"``),
    ``y`` its first baseline (or the block's middle with ``middle``)."""
    if not text or not text.strip():
        return
    font = fonts.pick(text, bold=bold, mono=mono)
    lines, size = fit_text(text, font, width, max_size, min_size, max_lines)
    leading, cap = size * 1.15, size * 0.72
    baseline = y + (leading * (len(lines) - 1) + cap) / 2 - cap if middle else y
    canvas.setFont(font, size)
    canvas.setFillColor(colour)
    for line in lines:
        (canvas.drawCentredString if align == "center" else canvas.drawString)(x, baseline, line)
        baseline -= leading


# --- layouts ------------------------------------------------------------------------------------


def _band(canvas: Canvas, fonts: FontChooser, title: str, x: float, y: float, w: float, h: float) -> None:
    # Inset from the cut: a slightly misaligned cut leaves no coloured sliver on the neighbour.
    canvas.setFillColor(BRAND)
    canvas.rect(x, y, w, h, stroke=0, fill=1)
    draw_text(canvas, fonts, title, x=x + w / 2, y=y + h / 2, width=w - 6 * mm, max_size=13, bold=True,
              colour=white, middle=True)


def _front_a6(canvas: Canvas, fonts: FontChooser, face: BadgeFace, title: str) -> None:
    w, h = A6
    inner = w - 14 * mm
    _band(canvas, fonts, title, 5 * mm, h - 17 * mm, w - 10 * mm, 12 * mm)
    draw_text(canvas, fonts, face.name, x=w / 2, y=h - 32 * mm, width=inner, max_size=30, min_size=10,
              bold=True, max_lines=2, middle=True)
    draw_text(canvas, fonts, face.company, x=w / 2, y=h - 51 * mm, width=inner, max_size=15)
    draw_text(canvas, fonts, face.ticket_type, x=w / 2, y=h - 59 * mm, width=inner, max_size=11, bold=True,
              colour=BRAND)
    size = 58 * mm  # with the quiet zone: the code itself is 42-48 mm, readable from 50 cm
    draw_qr(canvas, qr_matrix(face.badge_url), (w - size) / 2, 14 * mm, size)
    draw_text(canvas, fonts, "Badge: scanned at the door and at booths", x=w / 2, y=9 * mm, width=inner,
              max_size=7, colour=GREY)


def _front_card(canvas: Canvas, fonts: FontChooser, face: BadgeFace, title: str) -> None:
    """A 4x3 in badge at the origin: title band, name across, company and ticket left, QR right."""
    w, h, size = CARD_W, CARD_H, 38 * mm
    _band(canvas, fonts, title, 3 * mm, h - 11 * mm, w - 6 * mm, 8 * mm)
    draw_text(canvas, fonts, face.name, x=w / 2, y=h - 22.5 * mm, width=w - 10 * mm, max_size=22, min_size=9,
              bold=True, max_lines=2, middle=True)
    column = w - size - 16 * mm  # the text column, left of the code
    draw_text(canvas, fonts, face.company, x=5 * mm, y=28 * mm, width=column, max_size=12, align="left")
    draw_text(canvas, fonts, face.ticket_type, x=5 * mm, y=21 * mm, width=column, max_size=10, bold=True,
              colour=BRAND, align="left")
    draw_qr(canvas, qr_matrix(face.badge_url), w - 3 * mm - size, 3 * mm, size)


def _back(canvas: Canvas, fonts: FontChooser, info: SheetInfo, layout: str) -> None:
    """The shared back: Wi-Fi code with network and password in text, and the app code.
    A6 stacks the two codes; a 4x3 card puts them side by side."""
    if layout == "a6":
        w, h = A6
        _band(canvas, fonts, info.conference_title, 5 * mm, h - 17 * mm, w - 10 * mm, 12 * mm)
        wifi, app = (w / 2, 74 * mm, 44 * mm, w - 14 * mm, 10.0), (w / 2, 14 * mm, 38 * mm, w - 14 * mm, 8.0)
    else:
        _band(canvas, fonts, info.conference_title, 3 * mm, CARD_H - 11 * mm, CARD_W - 6 * mm, 8 * mm)
        half = CARD_W / 2
        wifi, app = (half / 2, 20 * mm, 34 * mm, half - 6 * mm, 8.0), (half * 1.5, 20 * mm, 34 * mm, half - 6 * mm, 7.0)
    cx, qr_y, size, width, text_size = wifi
    if info.wifi_ssid:
        draw_text(canvas, fonts, "Wi-Fi", x=cx, y=qr_y + size + 3 * mm, width=width, max_size=13, bold=True)
        draw_qr(canvas, shared_qr_matrix(wifi_payload(info.wifi_ssid, info.wifi_password)), cx - size / 2, qr_y, size)
        draw_text(canvas, fonts, f"Network: {info.wifi_ssid}", x=cx, y=qr_y - 4 * mm, width=width, max_size=text_size)
        if info.wifi_password:
            draw_text(canvas, fonts, f"Password: {info.wifi_password}", x=cx, y=qr_y - 4 * mm - text_size * 1.3,
                      width=width, max_size=text_size, mono=True)
    else:
        draw_text(canvas, fonts, NO_WIFI_NOTE, x=cx, y=qr_y + size / 2, width=width, max_size=text_size + 1,
                  middle=True)
    cx, qr_y, size, width, text_size = app
    draw_text(canvas, fonts, "Conference app", x=cx, y=qr_y + size + 3 * mm, width=width, max_size=13, bold=True)
    draw_qr(canvas, shared_qr_matrix(info.app_url), cx - size / 2, qr_y, size)
    draw_text(canvas, fonts, info.app_url, x=cx, y=qr_y - 4 * mm, width=width, max_size=text_size)


def crop_marks(canvas: Canvas, *, x0: float, y0: float, cols: int, rows: int, cell_w: float, cell_h: float,
               vertical: tuple[float, float], horizontal: tuple[float, float]) -> None:
    """Hairlines in the margins on every cut line of a grid of ``cols`` x ``rows`` cells whose lower
    left corner is (``x0``, ``y0``): above and below it from ``vertical[0]`` to ``vertical[1]`` away,
    left and right of it from ``horizontal[0]`` to ``horizontal[1]`` away (badge sheets, poster labels)."""
    canvas.setStrokeColor(black)
    canvas.setLineWidth(0.25)
    top, right = y0 + rows * cell_h, x0 + cols * cell_w
    (v_near, v_far), (h_near, h_far) = vertical, horizontal
    for x in (x0 + col * cell_w for col in range(cols + 1)):
        canvas.line(x, top + v_near, x, top + v_far)
        canvas.line(x, y0 - v_near, x, y0 - v_far)
    for y in (y0 + row * cell_h for row in range(rows + 1)):
        canvas.line(x0 - h_near, y, x0 - h_far, y)
        canvas.line(right + h_near, y, right + h_far, y)


def cell_origin(index: int, *, back: bool) -> tuple[float, float]:
    """Lower left of badge ``index`` (0-5, row by row from the top left) on a Letter sheet;
    on the back sheet the columns are mirrored."""
    row, col = divmod(index, COLS)
    return GRID_X0 + (COLS - 1 - col if back else col) * CARD_W, GRID_Y0 + (ROWS - 1 - row) * CARD_H


# --- the document -------------------------------------------------------------------------------


def render_badge_sheet(faces: Sequence[BadgeFace], info: SheetInfo, out: BinaryIO, *, layout: str = "a6",
                       progress: Callable[[int, int], None] | None = None, progress_every: int = 100) -> SheetResult:
    """Write the badge sheet PDF for ``faces`` (in that order) to ``out``.

    :param progress: called with (badges done, total) every ``progress_every`` badges and at the end.
    :raise ValueError: if ``layout`` is unknown or there is no badge to print.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if not faces:
        raise ValueError("no badges to print")
    fonts, total, a6 = FontChooser(), len(faces), layout == "a6"
    front, step = (_front_a6, 1) if a6 else (_front_card, PER_SHEET)
    canvas = Canvas(out, pagesize=A6 if a6 else LETTER, pageCompression=1)
    canvas.setTitle(f"Badges: {info.conference_title}")
    canvas.setCreator("Conference Companion")
    canvas.beginForm("badge-back", 0, 0, *(A6 if a6 else (CARD_W, CARD_H)))
    _back(canvas, fonts, info, layout)
    canvas.endForm()
    for start in range(0, total, step):
        chunk = faces[start:start + step]
        for back in (False, True):
            if not a6:
                # The grid is symmetric, so the back's marks meet the front's.
                crop_marks(canvas, x0=GRID_X0, y0=GRID_Y0, cols=COLS, rows=ROWS, cell_w=CARD_W, cell_h=CARD_H,
                           vertical=(2 * mm, 10 * mm), horizontal=(1.5 * mm, 5.5 * mm))
            for index, face in enumerate(chunk):
                canvas.saveState()
                canvas.translate(*((0.0, 0.0) if a6 else cell_origin(index, back=back)))
                if back:
                    canvas.doForm("badge-back")
                else:
                    front(canvas, fonts, face, info.conference_title)
                canvas.restoreState()
            canvas.showPage()
        done = start + len(chunk)
        if progress is not None and (done // progress_every > start // progress_every or done == total):
            progress(done, total)
    canvas.save()
    warnings = fonts.messages()
    if not info.wifi_ssid:
        warnings.insert(0, f"the conference has no Wi-Fi network set, so the backs say {NO_WIFI_NOTE!r} "
                           "(set one with: companion conference set --wifi-ssid ...)")
    return SheetResult(total, page_count(total, layout), warnings)


# --- what to print, from the database -----------------------------------------------------------


def select_attendees(entries: Sequence[str] | None = None, *,
                     ticket_type: str | None = None) -> tuple[list[Attendee], list[str]]:
    """Attendees to print, sorted by name (in Python, the same on SQLite and PostgreSQL; accents
    sort with their letter), and the entries that matched nobody.

    :param entries: only these email addresses (any case) or registration ids; None for everyone.
    :param ticket_type: only attendees holding this ticket type.
    """
    statement = select(Attendee).join(User, User.id == Attendee.user_id)
    if ticket_type is not None:
        statement = statement.where(Attendee.ticket_type == ticket_type)
    if entries is None:
        attendees, unknown = list(db.session.scalars(statement)), []
    else:
        wanted = {(e.strip().lower() if "@" in e else e.strip()): e.strip() for e in entries if e.strip()}
        keys, attendees = list(wanted), []
        for i in range(0, len(keys), 500):  # bounded IN lists
            chunk = keys[i:i + 500]
            attendees += db.session.scalars(statement.where(or_(User.email.in_(chunk), Attendee.registration_id.in_(chunk))))
        found = {a.user.email for a in attendees} | {a.registration_id for a in attendees}
        unknown = [entry for key, entry in wanted.items() if key not in found]
    return sorted({a.id: a for a in attendees}.values(),
                  key=lambda a: (unicodedata.normalize("NFKD", a.user.name).casefold().translate(NAME_FOLD), a.id)), unknown


def badge_faces(attendees: Sequence[Attendee]) -> list[BadgeFace]:
    """The fronts of ``attendees``' badges (absolute URLs: needs a request context)."""
    return [BadgeFace(a.user.name, a.company, a.ticket_type, external_url("badges.scan", token=a.badge_token))
            for a in attendees]


def sheet_info(conference: Conference | None) -> SheetInfo:
    """What every badge shares, from the conference's settings (needs a request context)."""
    if conference is None:
        return SheetInfo("Conference", external_url("schedule.index"))
    return SheetInfo(conference.title, external_url("schedule.index"), conference.wifi_ssid, conference.wifi_password)
