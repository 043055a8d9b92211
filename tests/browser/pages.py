"""Checks every browser test makes on a page."""

from __future__ import annotations

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
