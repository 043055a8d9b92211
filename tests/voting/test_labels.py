"""Poster board labels: the PDF rendered at 200 dpi, every QR code decoded with zxing-cpp, the text
read back with pypdfium2, on A4 and on US Letter."""

from __future__ import annotations

import io
import re

import pypdfium2 as pdfium
import pytest
from reportlab.lib.units import mm

from companion.badges import sheets
from companion.voting import labels as labels_module
from companion.voting.labels import PosterLabel, board_sort_key, poster_labels, render_labels, shorten_to_lines
from companion.voting.models import Poster
from tests.badges.test_sheets import decode_pages, page_texts
from tests.realparts import missing

BASE = "http://127.0.0.1:5000"
JAPANESE = "深層学習による細胞画像の自動分類と臨床応用"
LONG = ("A very long poster title about the longitudinal, multi-centre, randomised evaluation of "
        "everything that could possibly be measured in a conference hall, including the coffee queue, "
        "the acoustics of the plenary room, the half-life of name badges and the migration of lanyards "
        "across the venue over four days of talks, workshops and receptions")
SENTINEL = "the migration of lanyards"  # far into LONG: cut off, never printed
BOARDS = [f"P{n}" for n in range(1, 15)]
SCRAMBLED = ["P10", "P2", "P14", "P1", "P9", "P11", "P3", "P13", "P4", "P8", "P12", "P5", "P7", "P6"]


def _posters() -> list[Poster]:
    posters = []
    for n, board in enumerate(SCRAMBLED):
        title = {"P3": JAPANESE, "P5": LONG}.get(board, f"Findings on topic number {n}")
        authors = "山田太郎、佐藤花子" if board == "P3" else f"Ada Lovelace, Grace Hopper and {n} others"
        posters.append(Poster(code=f"c{board.lower()}x", board=board, title=title, authors=authors))
    return posters


def _url(poster: Poster) -> str:
    return f"{BASE}/posters/{poster.code}"


def _char_boxes(pdf: bytes, index: int) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Every printed character of page ``index`` with its box (left, bottom, right, top) in points."""
    document = pdfium.PdfDocument(pdf)
    try:
        text = document[index].get_textpage()
        result = []
        for i in range(text.count_chars()):
            char = text.get_text_range(i, 1)
            if char.strip():
                result.append((char, text.get_charbox(i)))
        return result
    finally:
        document.close()


@pytest.fixture
def unicode_fonts() -> None:
    for _, regular, _ in sheets.UNICODE_FONTS:
        if not regular.is_file():
            missing(regular.name, f"{regular} (Debian packages fonts-dejavu-core, fonts-droid-fallback)")


def test_posters_are_sorted_by_board_naturally(db):
    labels = poster_labels(_posters(), _url)

    assert [label.board for label in labels] == BOARDS
    assert labels[2] == PosterLabel("P3", JAPANESE, "山田太郎、佐藤花子", f"{BASE}/posters/cp3x")
    assert sorted(["P10", "p3", "B1", "P2", "A12", "A2"], key=board_sort_key) == ["A2", "A12", "B1", "P2", "p3", "P10"]


@pytest.mark.parametrize("page", ["a4", "letter"])
def test_fourteen_labels_take_three_pages_and_every_code_decodes_in_board_order(db, unicode_fonts, page, caplog):
    labels = poster_labels(_posters(), _url)
    out = io.BytesIO()

    pages = render_labels(labels, out, title="Test Conf 2026", page=page)
    pdf = out.getvalue()
    decoded = decode_pages(pdf)
    texts = page_texts(pdf)

    assert pages == 3
    assert len(decoded) == len(texts) == 3
    assert [len(codes) for codes in decoded] == [6, 6, 2]
    assert [code.text for codes in decoded for code in codes] == [label.url for label in labels]
    assert [f"{BASE}/posters/c{board.lower()}x" for board in BOARDS] == [label.url for label in labels]
    assert min(code.width_mm for codes in decoded for code in codes) >= 25  # the code itself, no quiet zone
    for number, text in enumerate(texts):
        assert re.findall(r"\bP\d+\b", text) == BOARDS[6 * number:6 * number + 6]
        assert text.count(labels_module.CAPTION) == len(decoded[number])
        assert f"Test Conf 2026 - poster labels, page {number + 1} of 3" in text
    assert JAPANESE in texts[0] and "山田太郎、佐藤花子" in texts[0]
    cut = re.search(r"A very long poster title[^.]*\.\.\.", texts[0])  # LONG has no full stop
    assert cut and LONG.startswith(cut.group()[:-3]) and len(cut.group()) >= 100  # its start, read on
    assert SENTINEL not in " ".join(texts)
    assert caplog.records == []  # every character had a font


@pytest.mark.parametrize("page", ["a4", "letter"])
def test_every_character_stays_inside_its_label(db, unicode_fonts, page):
    out = io.BytesIO()
    render_labels(poster_labels(_posters(), _url), out, title="Test Conf 2026", page=page)
    pdf = out.getvalue()
    width, height = labels_module.PAGES[page]
    size = labels_module.LABEL
    x0, y0 = (width - 2 * size) / 2, (height - 3 * size) / 2

    for index in range(3):
        boxes = _char_boxes(pdf, index)
        assert boxes
        for char, (left, bottom, right, top) in boxes:
            if bottom >= y0 + 3 * size:
                continue  # the page header, above the grid
            col, row = int(((left + right) / 2 - x0) // size), int(((bottom + top) / 2 - y0) // size)
            assert 0 <= col < 2 and 0 <= row < 3, char
            cell_left, cell_bottom = x0 + col * size, y0 + row * size
            assert cell_left + 4 * mm <= left and right <= cell_left + size - 4 * mm, (page, index, char)
            assert cell_bottom + 2 * mm <= bottom and top <= cell_bottom + size - 4 * mm, (page, index, char)


def test_titles_are_cut_at_a_word_only_when_two_lines_do_not_hold_them():
    short = "Findings on poster sessions"

    assert shorten_to_lines(short, "Helvetica-Bold", 7, 200, 2) == short
    cut = shorten_to_lines(LONG, "Helvetica-Bold", 7, 200, 2)
    assert cut.endswith("...") and LONG.startswith(cut[:-3]) and LONG[len(cut) - 3] == " "
    assert shorten_to_lines(JAPANESE * 5, "Helvetica-Bold", 7, 200, 2) == JAPANESE * 5  # no spaces: left whole


def test_unknown_page_size_and_empty_list_are_refused():
    label = PosterLabel("P1", "Title", "Authors", f"{BASE}/posters/x")

    with pytest.raises(ValueError, match="unknown page size 'a3'"):
        render_labels([label], io.BytesIO(), title="Conf", page="a3")
    with pytest.raises(ValueError, match="no poster labels"):
        render_labels([], io.BytesIO(), title="Conf")


def test_a_single_label_is_one_page_and_the_code_is_vector():
    out = io.BytesIO()

    pages = render_labels([PosterLabel("P1", "Title", "Authors", f"{BASE}/posters/x")], out, title="Conf")

    assert pages == 1
    assert [[c.text for c in codes] for codes in decode_pages(out.getvalue())] == [[f"{BASE}/posters/x"]]
    document = pdfium.PdfDocument(out.getvalue())
    try:
        kinds = {obj.type for obj in document[0].get_objects()}
    finally:
        document.close()
    assert pdfium.raw.FPDF_PAGEOBJ_IMAGE not in kinds
