"""Where the top-level resource folders (templates/, static/, migrations/) are.

In a checkout they sit beside the package; in an installed wheel they are carried inside it.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` from the wheel if it is there, else from the checkout.

    :param name: ``"templates"``, ``"static"`` or ``"migrations"``.
    """
    inside = PACKAGE_DIR / name
    if inside.is_dir():
        return inside
    return PACKAGE_DIR.parent / name
