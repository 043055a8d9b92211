"""Static files addressed by content hash, so browsers and the service worker may cache them for
a year and still see every new deployment at once."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, url_for


def _digest_static(static_dir: Path) -> dict[str, str]:
    digests: dict[str, str] = {}
    for path in sorted(static_dir.rglob("*")):
        if path.is_file():
            digests[path.relative_to(static_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return digests


def init_app(app: Flask) -> None:
    """Hash the static files once at start-up and give templates ``asset_url(filename)``."""
    digests = _digest_static(Path(app.static_folder or "static"))
    # One version for the whole set: the service worker's cache name changes when any file does.
    app.config["ASSET_VERSION"] = hashlib.sha256("".join(f"{k}{v}" for k, v in digests.items()).encode()).hexdigest()[:12]
    app.extensions["asset_digests"] = digests

    def asset_url(filename: str) -> str:
        return url_for("static", filename=filename, v=digests.get(filename, "0"))

    app.jinja_env.globals["asset_url"] = asset_url
