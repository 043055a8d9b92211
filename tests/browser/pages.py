"""Checks every browser test makes on a page."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import BrowserContext, BrowserType, ConsoleMessage, Page

PHONE_WIDTH = 390
# Safari in a tab: navigator.standalone is false there (true in the app opened from the Home Screen).
SAFARI_IN_A_TAB = "Object.defineProperty(Navigator.prototype, 'standalone', { get: () => false })"


def watch_errors(page: Page) -> list[str]:
    """Collect console errors (a CSP violation shows up there) and uncaught exceptions."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def assert_fits_the_phone(page: Page) -> None:
    """Nothing on the page is wider than the phone's screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the page is {width}px wide on a {PHONE_WIDTH}px screen"


def wait_until(page: Page, expression: str, *, timeout: float = 10.0) -> None:
    """Poll ``expression`` (JavaScript; a Promise is awaited) from here until it is truthy.

    Not ``page.wait_for_function``: when its first check fails it polls inside the page with
    ``eval``, which our Content-Security-Policy refuses (no 'unsafe-eval'), and it takes the
    Promise of an async predicate as true at once. DevTools evaluation is not subject to the CSP.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)


def camera_video(png: bytes, path: Path) -> Path:
    """A Y4M video (what Chromium's fake camera plays, in a loop) of a QR code held up to the camera.

    Chromium plays it with ``--use-fake-device-for-media-stream --use-file-for-fake-video-capture=<path>``.
    """
    width, height = 640, 480
    frame = Image.new("RGB", (width, height), "white")
    code = Image.open(io.BytesIO(png)).convert("RGB")
    frame.paste(code, ((width - code.width) // 2, (height - code.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    chroma = (width // 2, height // 2)
    data = y.tobytes() + cb.resize(chroma).tobytes() + cr.resize(chroma).tobytes()
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode() + (b"FRAME\n" + data) * 2)
    return path


@contextlib.contextmanager
def phone_with_camera(browser_type: BrowserType, launch_args: dict[str, Any], png: bytes, scratch: Path,
                      base_url: str) -> Iterator[BrowserContext]:
    """A phone (390 x 844, touch, camera allowed) in a Chromium of its own, whose camera shows the
    QR code ``png`` (:func:`camera_video`, written in ``scratch``)."""
    video = camera_video(png, scratch / "camera.y4m")
    browser = browser_type.launch(**{**launch_args, "args": [
        *launch_args["args"], "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"]})
    try:
        context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 844}, device_scale_factor=2,
                                      is_mobile=True, has_touch=True, permissions=["camera"], base_url=base_url)
        try:
            yield context
        finally:
            context.close()
    finally:
        browser.close()
