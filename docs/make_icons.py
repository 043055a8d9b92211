"""Draw the app icons into static/icons/ with Pillow (no design tools, no network).

Run from the repository root after changing the design, and commit the PNGs it writes:

    .venv/bin/python docs/make_icons.py

The mark is a calendar page in white on the brand blue (#16325c, the manifest's theme colour).
The maskable icon keeps the mark inside the central 60 % (the safe zone is a circle of 80 %), so
launchers may crop it to any shape.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (22, 50, 92)
WHITE = (255, 255, 255)
ACCENT = (245, 158, 11)
ICONS = Path(__file__).resolve().parents[1] / "static" / "icons"


def draw_mark(draw: ImageDraw.ImageDraw, size: int, scale: float) -> None:
    """Draw the calendar mark centred in a ``size`` square, ``scale`` of its width wide."""
    width = size * scale
    left, top = (size - width) / 2, (size - width * 0.92) / 2
    right, bottom = left + width, top + width * 0.92
    radius = width * 0.1
    draw.rounded_rectangle((left, top, right, bottom), radius=radius, fill=WHITE)
    band = top + (bottom - top) * 0.24
    draw.rounded_rectangle((left, top, right, band), radius=radius, fill=ACCENT)
    draw.rectangle((left, band - radius, right, band), fill=ACCENT)
    # Binder rings, cut into the top band.
    ring_w, ring_h = width * 0.07, width * 0.16
    for x in (left + width * 0.27, right - width * 0.27):
        draw.rounded_rectangle((x - ring_w / 2, top - ring_h * 0.45, x + ring_w / 2, top + ring_h * 0.55),
                               radius=ring_w / 2, fill=BRAND)
    # A 3 x 3 grid of time slots; the middle one stands out (the session you starred).
    pad = width * 0.1
    cell_w = (width - pad * 4) / 3
    grid_top = band + pad * 0.8
    cell_h = (bottom - grid_top - pad * 3) / 3
    for row in range(3):
        for col in range(3):
            x0 = left + pad + col * (cell_w + pad)
            y0 = grid_top + row * (cell_h + pad)
            fill = ACCENT if (row, col) == (1, 1) else BRAND
            draw.rounded_rectangle((x0, y0, x0 + cell_w, y0 + cell_h), radius=cell_w * 0.15, fill=fill)


def icon(size: int, maskable: bool = False) -> Image.Image:
    """One icon: a full-bleed square for maskable and iOS, a rounded square otherwise."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, size, size), fill=BRAND)
        draw_mark(draw, size, 0.5)
    else:
        draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size * 0.18, fill=BRAND)
        draw_mark(draw, size, 0.62)
    return image


def shortcut_icon(kind: str, size: int = 96) -> Image.Image:
    """A launcher shortcut's icon (the manifest's ``shortcuts``): a white mark on a full-bleed
    brand square, inside the central 60 % so a round mask leaves it whole. Drawn at 4x and scaled
    down, so its edges are smooth at 96 px.

    :param kind: ``"agenda"`` (a star: my starred sessions) or ``"badge"`` (a badge on its clip).
    """
    big = size * 4
    image = Image.new("RGBA", (big, big), BRAND + (255,))
    draw = ImageDraw.Draw(image)
    centre = big / 2
    if kind == "agenda":
        outer, inner = big * 0.3, big * 0.3 * 0.42
        points = [(centre + (outer if i % 2 == 0 else inner) * math.sin(i * math.pi / 5),
                   centre + big * 0.025 - (outer if i % 2 == 0 else inner) * math.cos(i * math.pi / 5))
                  for i in range(10)]
        draw.polygon(points, fill=WHITE)
    elif kind == "badge":
        width, height = big * 0.42, big * 0.54
        left, top = centre - width / 2, centre - height / 2 + big * 0.02
        draw.rounded_rectangle((left, top, left + width, top + height), radius=width * 0.12, fill=WHITE)
        # The clip's slot, then a name line in the accent colour and a QR code's three corners.
        draw.rounded_rectangle((centre - width * 0.18, top + height * 0.07, centre + width * 0.18, top + height * 0.14),
                               radius=height * 0.035, fill=BRAND)
        draw.rectangle((left + width * 0.17, top + height * 0.24, left + width * 0.83, top + height * 0.33), fill=ACCENT)
        cell = width * 0.2
        qr_left, qr_top = centre - cell * 1.25, top + height * 0.45
        for dx, dy in ((0, 0), (1.5, 0), (0, 1.5)):
            x0, y0 = qr_left + dx * cell, qr_top + dy * cell
            draw.rectangle((x0, y0, x0 + cell, y0 + cell), fill=BRAND)
        draw.rectangle((qr_left + 1.5 * cell, qr_top + 1.5 * cell, qr_left + 2.0 * cell, qr_top + 2.0 * cell), fill=BRAND)
    else:
        raise ValueError(kind)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write every icon the manifest and base.html name."""
    ICONS.mkdir(parents=True, exist_ok=True)
    icon(192).save(ICONS / "icon-192.png", optimize=True)
    icon(512).save(ICONS / "icon-512.png", optimize=True)
    icon(512, maskable=True).save(ICONS / "icon-maskable-512.png", optimize=True)
    # iOS draws no transparency: a full-bleed square, and it rounds the corners itself.
    icon(180, maskable=True).convert("RGB").save(ICONS / "apple-touch-icon.png", optimize=True)
    icon(32).save(ICONS / "favicon-32.png", optimize=True)
    for kind in ("agenda", "badge"):
        shortcut_icon(kind).save(ICONS / f"shortcut-{kind}-96.png", optimize=True)


if __name__ == "__main__":
    main()
