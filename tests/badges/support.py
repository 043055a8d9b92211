"""Helpers of the badge and check-in tests: Paris times, reading the QR codes back."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import zxingcpp
from PIL import Image, ImageDraw

PARIS = ZoneInfo("Europe/Paris")
_MODULE = re.compile(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z")


def paris(*args: int) -> datetime:
    """A moment given in Paris wall-clock time (``paris(2026, 4, 7, 9, 12)``)."""
    return datetime(*args, tzinfo=PARIS)


def rasterise_qr_svg(svg: str, scale: int = 8) -> Image.Image:
    """Draw the SVG that :func:`companion.badges.qr.qr_svg` makes, module by module, as a bitmap.

    Nothing in the test environment renders SVG (no cairo), so this reads the path itself: every
    dark module is one ``Mx,yH..V..H..z`` square of the single path, on a white background.
    """
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))
    path = re.search(r'<path d="([^"]+)"', svg).group(1)
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    squares = _MODULE.findall(path)
    assert len(squares) == path.count("z"), "the path holds something other than module squares"
    for x, y, x2, y2 in squares:
        x, y, x2, y2 = int(x), int(y), int(x2), int(y2)
        assert (x2 - x, y2 - y) == (1, 1)
        draw.rectangle([x * scale, y * scale, x2 * scale - 1, y2 * scale - 1], fill=0)
    return image


def decode(image: Image.Image) -> list[str]:
    """Every QR code zxing-cpp finds in ``image``, as text."""
    return [result.text for result in zxingcpp.read_barcodes(image)]
