"""Response headers that make the browser strict: a Content-Security-Policy with no inline
scripts or styles, no framing, no MIME sniffing, no referrer leaks."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, Response, request

from companion.errors import Problem

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Camera scanner pages only (check-in, the hunt): the vendored QR decoder (ZXing-C++ compiled to
# WebAssembly) needs 'wasm-unsafe-eval' to compile its module. It allows WebAssembly, not eval().
SCANNER_CSP = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", 1)
# static/ folder of the vendored BarcodeDetector polyfill those pages load.
SCANNER_VENDOR_DIR = "vendor/barcode-detector-3.2.2"


def _secure_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def _refuse_nul_characters() -> None:
    # PostgreSQL refuses NUL in text (SQLite takes it): answer every such request with the same
    # clear 400 on both databases, before any view builds a query from it.
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.keys(), *request.form.values()]
    elif request.is_json:
        values += list(_json_strings(request.get_json(silent=True)))
    if any("\x00" in value for value in values):
        raise Problem(400, "The request contains a NUL character (%00), which no address, parameter or form field may hold.")


def _json_strings(value: object) -> Iterator[str]:
    """Every string (keys included) inside a parsed JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def init_app(app: Flask) -> None:
    """Add the headers to every response of ``app`` and refuse NUL characters in requests."""
    app.before_request(_refuse_nul_characters)
    app.after_request(_secure_headers)
