"""Badge sheet PDFs: every page rendered at 200 dpi and every QR code decoded with zxing-cpp; the
staff page that serves them.

The helpers here (:func:`decode_pages`, :func:`page_texts`) are shared with the other badge tests.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdfium2 as pdfium
import pytest
import zxingcpp
from flask import Flask

from companion.badges import sheets
from companion.badges.sheets import (
    NO_WIFI_NOTE,
    BadgeFace,
    SheetInfo,
    badge_faces,
    fit_text,
    render_badge_sheet,
    select_attendees,
    sheet_info,
)
from companion.badges.wifi import wifi_payload
from companion.extensions import db as _db
from companion.schedule.queries import get_conference
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.factories import load_schedule
from tests.realparts import missing

DPI = 200
BASE = "http://127.0.0.1:5000"
APP_URL = f"{BASE}/schedule"
WIFI = wifi_payload('Conf;Net"5G', "p\\a:ss,word")


@dataclass(frozen=True)
class Code:
    """A decoded QR code and where it sits on the page, in mm from the top left."""

    text: str
    x_mm: float
    y_mm: float
    width_mm: float


def decode_pages(pdf: bytes, dpi: int = DPI, pages: list[int] | None = None) -> list[list[Code]]:
    """Every QR code on every page (or on ``pages``), row by row from the top, left to right."""
    document = pdfium.PdfDocument(pdf)
    try:
        result = []
        for index in pages if pages is not None else range(len(document)):
            image = document[index].render(scale=dpi / 72).to_pil()
            codes = []
            for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
                corners = [found.position.top_left, found.position.top_right, found.position.bottom_left,
                           found.position.bottom_right]
                left, top = min(p.x for p in corners), min(p.y for p in corners)
                width = max(p.x for p in corners) - left
                codes.append(Code(found.text, left * 25.4 / dpi, top * 25.4 / dpi, width * 25.4 / dpi))
            result.append(_reading_order(codes))
        return result
    finally:
        document.close()


def _reading_order(codes: list[Code]) -> list[Code]:
    rows: list[list[Code]] = []
    for code in sorted(codes, key=lambda c: c.y_mm):
        if rows and abs(rows[-1][0].y_mm - code.y_mm) < 15:
            rows[-1].append(code)
        else:
            rows.append([code])
    return [code for row in rows for code in sorted(row, key=lambda c: c.x_mm)]


def page_texts(pdf: bytes) -> list[str]:
    """The extracted text of every page, its lines joined by single spaces (names may wrap)."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [" ".join(document[i].get_textpage().get_text_range().split()) for i in range(len(document))]
    finally:
        document.close()


def people_and_conference() -> None:
    load_schedule()
    conference = get_conference()
    conference.wifi_ssid, conference.wifi_password = 'Conf;Net"5G', "p\\a:ss,word"
    make_attendee(name="Zoë Ünal", email="zoe@example.org", company="Ünal GmbH", ticket_type="Speaker")
    make_attendee(name="Łukasz Żółkiewski", email="lukasz@example.org", company="Kraków Labs")
    make_attendee(name="Ada Lovelace", email="ada@example.org", company=None, ticket_type=None)
    _db.session.commit()


def _render(app: Flask, layout: str) -> tuple[bytes, list, sheets.SheetResult]:
    attendees, unknown = select_attendees()
    assert unknown == []
    with app.test_request_context(base_url=BASE):
        faces, info = badge_faces(attendees), sheet_info(get_conference())
    out = io.BytesIO()
    result = render_badge_sheet(faces, info, out, layout=layout)
    return out.getvalue(), attendees, result


def test_a6_sheet_decodes_every_front_and_back_in_order(app, db):
    people_and_conference()

    pdf, attendees, result = _render(app, "a6")
    pages = decode_pages(pdf)
    texts = page_texts(pdf)

    assert [a.user.name for a in attendees] == ["Ada Lovelace", "Łukasz Żółkiewski", "Zoë Ünal"]
    assert (result.badges, result.pages, result.warnings) == (3, 6, [])
    assert len(pages) == 6
    for i, attendee in enumerate(attendees):
        assert [c.text for c in pages[2 * i]] == [f"{BASE}/b/{attendee.badge_token}"]
        assert [c.text for c in pages[2 * i + 1]] == [WIFI, APP_URL]
        assert attendee.user.name in texts[2 * i]
    assert "Ünal GmbH" in texts[4] and "Speaker" in texts[4] and "Test Conf 2026" in texts[4]
    assert 'Network: Conf;Net"5G' in texts[1] and "Password: p\\a:ss,word" in texts[1] and APP_URL in texts[1]


def test_a6_badge_code_is_at_least_35_mm_wide(app, db):
    people_and_conference()

    pdf, _, _ = _render(app, "a6")
    front = decode_pages(pdf, pages=[0])[0]

    assert len(front) == 1
    assert front[0].width_mm >= 35


def test_letter_sheet_has_six_badges_a_page_and_mirrored_backs(app, db):
    people_and_conference()
    for n in range(4):
        make_attendee(name=f"Person {n}", email=f"person-{n}@example.org")

    pdf, attendees, result = _render(app, "letter-4x3")
    pages = decode_pages(pdf)
    width_mm = 8.5 * 25.4

    assert (result.badges, result.pages) == (7, 4)
    assert len(pages) == 4
    urls = [f"{BASE}/b/{a.badge_token}" for a in attendees]
    assert [c.text for c in pages[0]] == urls[:6]
    # Back sheet, row by row: each badge's back is Wi-Fi then app code, columns mirrored.
    assert [c.text for c in pages[1]] == [WIFI, APP_URL] * 6
    assert [c.text for c in pages[2]] == urls[6:]
    assert pages[2][0].x_mm < width_mm / 2  # the 7th front: top left cell
    assert [c.text for c in pages[3]] == [WIFI, APP_URL]
    assert pages[3][0].x_mm > width_mm / 2  # its back: top right cell, behind it after a long-edge flip
    texts = page_texts(pdf)
    assert all(a.user.name in texts[0] for a in attendees[:6]) and attendees[6].user.name in texts[2]


def test_mirrored_cells_swap_columns_only():
    assert sheets.cell_origin(0, back=True) == sheets.cell_origin(1, back=False)
    assert sheets.cell_origin(5, back=True) == sheets.cell_origin(4, back=False)
    assert sheets.cell_origin(2, back=False)[1] == sheets.cell_origin(2, back=True)[1]


def test_polish_name_is_embedded_and_extracts_exactly():
    if not sheets._unicode_fonts():
        missing("DejaVu Sans", f"{sheets.UNICODE_FONTS[0][1]} (Debian package fonts-dejavu-core)")
    face = BadgeFace("Łukasz Żółkiewski-Brzęczyszczykiewicz", "Zakład Łódź", "Konferencja", f"{BASE}/b/abcdefghijklmnopqrstuv")
    out = io.BytesIO()

    result = render_badge_sheet([face], SheetInfo("Test Conf", APP_URL), out)
    front = page_texts(out.getvalue())[0]

    assert result.warnings == [f"the conference has no Wi-Fi network set, so the backs say {NO_WIFI_NOTE!r} "
                               "(set one with: companion conference set --wifi-ssid ...)"]
    assert "Łukasz Żółkiewski-Brzęczyszczykiewicz" in front
    assert "Zakład Łódź" in front
    assert b"/FontFile2" in out.getvalue()  # the TrueType subset is embedded


def test_without_unicode_fonts_falls_back_to_helvetica_with_a_warning(monkeypatch):
    monkeypatch.setattr(sheets, "UNICODE_FONTS", (("NoSuchFont", sheets.FONT_DIR / "none/NoSuchFont.ttf", None),))
    sheets._unicode_fonts.cache_clear()
    try:
        fonts = sheets.FontChooser()
        assert fonts.pick("Łukasz", bold=True) == "Helvetica-Bold"
        assert fonts.pick("Zoë Ünal") == "Helvetica"  # Latin-1: no problem
    finally:
        sheets._unicode_fonts.cache_clear()
    assert fonts.messages() == [f"'Łukasz' is printed with Helvetica and loses its characters outside Latin-1: "
                                f"{sheets.FONT_DIR / 'none/NoSuchFont.ttf'} is missing (Debian fonts-dejavu-core)"]


def test_back_without_wifi_has_only_the_app_code_and_a_note():
    out = io.BytesIO()
    render_badge_sheet([BadgeFace("Ada", None, None, f"{BASE}/b/abcdefghijklmnopqrstuv")], SheetInfo("T", APP_URL), out)

    back = decode_pages(out.getvalue(), pages=[1])[0]

    assert [c.text for c in back] == [APP_URL]
    assert NO_WIFI_NOTE in page_texts(out.getvalue())[1]


def test_codes_are_vector_squares_not_images():
    out = io.BytesIO()
    render_badge_sheet([BadgeFace("Ada", None, None, f"{BASE}/b/abcdefghijklmnopqrstuv")],
                       SheetInfo("T", APP_URL, "Net", "password1"), out)

    document = pdfium.PdfDocument(out.getvalue())
    try:
        kinds = [obj.type for page in document for obj in page.get_objects(max_depth=4)]
    finally:
        document.close()

    assert pdfium.raw.FPDF_PAGEOBJ_IMAGE not in kinds
    assert kinds.count(pdfium.raw.FPDF_PAGEOBJ_PATH) >= 3  # the three codes (and the title bands)
    assert b"/Subtype /Image" not in out.getvalue()


def test_long_name_wraps_to_two_lines_that_fit():
    font, width = "Helvetica-Bold", 260.0

    lines, size = fit_text("Maximiliana Wolfeschlegelsteinhausenbergerdorff von Hohenzollern", font, width, 30, 10, 2)

    assert lines == ("Maximiliana Wolfeschlegelsteinhausenbergerdorff", "von Hohenzollern")
    assert 10 <= size < 30
    assert all(sheets.pdfmetrics.stringWidth(line, font, size) <= width + 0.01 for line in lines)


def test_short_name_stays_on_one_line_at_full_size():
    assert fit_text("Ada Lovelace", "Helvetica-Bold", 260.0, 30, 10, 2) == (("Ada Lovelace",), 30)


def test_name_too_long_even_at_minimum_size_is_cut():
    lines, size = fit_text("X" * 300, "Helvetica-Bold", 200.0, 30, 10, 2)

    assert size == 10 and len(lines) == 1 and lines[0].endswith("...")
    assert sheets.pdfmetrics.stringWidth(lines[0], "Helvetica-Bold", 10) <= 200


def test_unknown_layout_and_empty_list_are_refused():
    info = SheetInfo("T", APP_URL)
    with pytest.raises(ValueError, match="unknown layout 'a4'"):
        render_badge_sheet([BadgeFace("A", None, None, APP_URL)], info, io.BytesIO(), layout="a4")
    with pytest.raises(ValueError, match="no badges to print"):
        render_badge_sheet([], info, io.BytesIO())


def test_selection_by_email_and_registration_id_reports_unknown_entries(db):
    make_attendee(name="Grace Hopper", email="grace@example.org", registration_id="REG-GRACE")
    make_attendee(name="Alan Turing", email="alan@example.org")

    attendees, unknown = select_attendees([" GRACE@example.org ", "REG-GRACE", "nobody@example.org", "REG-NONE"])

    assert [a.user.name for a in attendees] == ["Grace Hopper"]
    assert unknown == ["nobody@example.org", "REG-NONE"]


# --- the staff page -----------------------------------------------------------------------------


def test_staff_page_sends_anonymous_people_to_sign_in(client, db):
    response = client.get("/staff/badges/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_staff_page_refuses_attendees(client, db):
    attendee = make_attendee(email="ada@example.org")
    sign_in(client, attendee.user)

    token = csrf_from(client.get("/schedule").get_data(as_text=True))  # the page's csrf-token meta tag

    assert client.get("/staff/badges/").status_code == 403
    assert client.post("/staff/badges/", data={"csrf_token": token, "who": "all", "layout": "a6"}).status_code == 403


def test_staff_page_downloads_a_pdf_whose_codes_decode(client, db):
    people_and_conference()
    staff = make_user(email="desk@example.org", role="staff")
    sign_in(client, staff)

    page = client.get("/staff/badges/")
    html = page.get_data(as_text=True)
    response = client.post("/staff/badges/", data={"csrf_token": csrf_from(html), "who": "ticket",
                                                   "ticket_type": "Speaker", "layout": "a6", "emails": ""})

    assert page.status_code == 200
    assert "Print badges" in html and '<option value="Speaker">Speaker</option>' in html
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="badges-2026-04-07-a6.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    zoe = select_attendees(["zoe@example.org"])[0][0]
    assert [[c.text for c in codes] for codes in decode_pages(response.data)] == [
        [f"http://localhost/b/{zoe.badge_token}"], [WIFI, "http://localhost/schedule"]]


def test_staff_page_lists_unknown_addresses_and_sends_nothing(client, db):
    make_attendee(email="ada@example.org")
    admin = make_user(email="admin@example.org", role="admin")
    sign_in(client, admin)

    html = client.get("/staff/badges/").get_data(as_text=True)
    response = client.post("/staff/badges/", data={"csrf_token": csrf_from(html), "who": "emails",
                                                   "emails": "ada@example.org, ghost@example.org", "layout": "letter-4x3"})

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "No attendee has these addresses: ghost@example.org. Fix or remove them." in response.get_data(as_text=True)


def test_staff_home_links_to_the_badge_page(client, db):
    sign_in(client, make_user(email="desk@example.org", role="staff"))

    html = client.get("/staff/").get_data(as_text=True)

    assert '<a href="/staff/badges/">Print badges</a>' in html
