"""Checks every browser test makes on a page."""

from __future__ import annotations

import time

from playwright.sync_api import ConsoleMessage, Page

PHONE_WIDTH = 390


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
