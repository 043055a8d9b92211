"""From uploaded bytes to text: a size bound first, then the encoding, strictly.

Schedules are UTF-8 in practice. A byte order mark says otherwise (Excel writes UTF-16 CSV);
an XML declaration may name another encoding, which XML allows. Anything else that is not valid
UTF-8 is refused with the line and column of the first bad byte, so the organiser can find it,
rather than guessed at and imported as mojibake.
"""

from __future__ import annotations

import codecs
import re

from companion.schedule.interchange import ImportProblem

DEFAULT_MAX_BYTES = 200 * 1024 * 1024

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']"""
)


def _size(count: int) -> str:
    """A byte count for people: "1000 bytes", "62.9 KB (64375 bytes)", "201.0 MB (...)"."""
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB ({count} bytes)"
    if count >= 1024:
        return f"{count / 1024:.1f} KB ({count} bytes)"
    return f"{count} bytes"


def check_size(data: bytes, max_bytes: int | None = None) -> None:
    """Refuse a file over ``max_bytes`` (default :data:`DEFAULT_MAX_BYTES`) before reading it.

    :raise ImportProblem: naming the file's size and the limit.
    """
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    if len(data) > limit:
        raise ImportProblem(f"the file is {_size(len(data))}, over the limit of {_size(limit)}")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (in characters, from 1) of byte ``offset`` in UTF-8 ``data``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    # The bytes before the bad one on its line are valid UTF-8 (it is the *first* bad byte).
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


def _declared_xml_encoding(data: bytes) -> str | None:
    """The encoding an XML declaration names, if it is a real codec other than UTF-8."""
    match = _XML_ENCODING.match(data[:200])
    if not match:
        return None
    name = match.group(1).decode("ascii")
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise ImportProblem(
            f"the XML declaration names an unknown encoding {name!r}", "line 1"
        ) from None
    return None if codec == "utf-8" else codec


def decode_text(data: bytes) -> str:
    """The text of ``data``: by its byte order mark, an XML encoding declaration, else strict UTF-8.

    :raise ImportProblem: if the bytes are not valid in that encoding, naming line and column.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ImportProblem(
                    f"not valid {encoding.upper()} at byte {exc.start} "
                    "despite its byte order mark: "
                    "save the file as UTF-8"
                ) from None
    if b"\x00" in data:
        # Valid UTF-8 in theory, never in a schedule: UTF-16 saved without a byte order mark.
        line, column = _position(data, data.index(b"\x00"))
        raise ImportProblem(
            f"a NUL byte at line {line}, column {column} (UTF-16 without a byte order mark?): "
            "save the file as UTF-8"
        )
    declared = _declared_xml_encoding(data)
    encoding = declared or "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if declared:
            raise ImportProblem(
                f"not valid {declared} (as its XML declaration says) at byte {exc.start}: "
                "save the file as UTF-8"
            ) from None
        line, column = _position(data, exc.start)
        raise ImportProblem(
            f"not valid UTF-8 at line {line}, column {column}: save the file as UTF-8"
        ) from None
