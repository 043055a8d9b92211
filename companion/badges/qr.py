"""QR codes of badges and links: SVG for screens, PNG where a bitmap is needed.

Error correction M (15 % of the code may be damaged: a crease, a scratch, a glare spot) and the
standard quiet zone of 4 modules, without which phone cameras often fail to find the code.
"""

from __future__ import annotations

import io
from typing import Any

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathFillImage

QUIET_ZONE = 4
# One module is 10 units, so the viewBox and the path use whole numbers.
_SVG_BOX = 10


class _ScalableSvg(SvgPathFillImage):
    """qrcode's single-path SVG on white, without its fixed size in millimetres.

    Sized by its viewBox alone, the code fills whatever box shows it (a phone screen, a badge
    sheet), and ``crispEdges`` keeps module edges sharp when scaled to fractional pixels.
    """

    def _svg(self, *args: Any, **kwargs: Any) -> Any:
        svg = super()._svg(*args, **kwargs)
        svg.attrib.pop("width", None)
        svg.attrib.pop("height", None)
        svg.set("shape-rendering", "crispEdges")
        return svg


def make_code(payload: str, box_size: int = 1) -> qrcode.QRCode:
    """The QR code of ``payload`` with the settings every code we show or print uses:
    error correction M (a scuffed badge still scans), a quiet zone of 4 modules.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE, box_size=box_size)
    code.add_data(payload)
    code.make(fit=True)
    return code


def qr_svg(payload: str) -> str:
    """The QR code of ``payload`` as a standalone SVG document (black on white, one path).

    :param payload: the text to encode, usually an absolute URL.
    """
    image = make_code(payload, _SVG_BOX).make_image(image_factory=_ScalableSvg)
    body = image.to_string(encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def qr_png(payload: str, box_size: int = 10) -> bytes:
    """The QR code of ``payload`` as PNG bytes, ``box_size`` pixels per module.

    :param payload: the text to encode.
    :param box_size: the width of one module in pixels (the image is ``(modules + 8) * box_size``).
    """
    image = make_code(payload, box_size).make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
