"""Reading a file within a size limit, for the commands that import one.

* :func:`read_at_most` reads an open binary stream (a file, an upload) and never more than
  ``limit + 1`` bytes of it, so a file larger than it says, or one that grows while it is read,
  still costs at most that much memory.
* :func:`read_file_at_most` does the same for a path, refusing a file whose size is over the limit
  before opening it.
* :func:`read_bounded` is the import commands' way to read their ``PATH`` argument (``companion
  schedule import``, ``companion attendees import``): the same, with errors a command shows.
* :func:`import_limit` names the import limit in messages: ``the import limit of 20.0 MB
  (COMPANION_MAX_IMPORT_BYTES)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import click


class TooLarge(Exception):
    """The file is over ``limit`` bytes; ``size`` is its size if known (``None``: it grew while read)."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        super().__init__(f"over {limit} bytes" if size is None else f"{size} bytes, over {limit}")
        self.limit = limit
        self.size = size


def import_limit(limit: int) -> str:
    """``the import limit of 20.0 MB (COMPANION_MAX_IMPORT_BYTES)``: the words every import refusal uses."""
    return f"the import limit of {limit / 1_000_000:.1f} MB (COMPANION_MAX_IMPORT_BYTES)"


def read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Everything left in ``stream``, reading at most ``limit + 1`` bytes of it.

    :raise TooLarge: if there are more than ``limit`` bytes.
    """
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(limit)
    return data


def read_file_at_most(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` if it has no more than ``limit`` of them.

    :raise TooLarge: if it is larger (with its size, when its size said so before reading).
    :raise OSError: if it is missing or unreadable.
    """
    size = path.stat().st_size
    if size > limit:
        raise TooLarge(limit, size)
    with path.open("rb") as handle:
        return read_at_most(handle, limit)  # a file that grows while we read is still bounded


def read_bounded(path: Path, limit: int) -> bytes:
    """Read the file an import command was given, unless it is larger than ``limit`` bytes.

    :raise click.ClickException: if the file is missing, unreadable or too large; the message
        names the file and ends in "Nothing was imported."
    """
    try:
        return read_file_at_most(path, limit)
    except TooLarge as exc:
        if exc.size is None:
            raise click.ClickException(
                f"{path}: the file is over the import limit of {limit} bytes. Nothing was imported.") from exc
        raise click.ClickException(
            f"{path}: the file is {exc.size / 1_000_000:.1f} MB, over {import_limit(limit)}. Nothing was imported."
        ) from exc
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot read the file ({exc.strerror}). Nothing was imported.") from exc
