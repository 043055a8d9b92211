"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the tests: mails arrive over the wire."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Mailbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def wait_for(self, to: str, timeout: float = 10.0) -> EmailMessage:
        """The newest mail to ``to``, waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for message in reversed(self.messages):
                    if to in message["To"]:
                        return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} within {timeout} s")

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in m["To"]]


def first_link(message: EmailMessage) -> str:
    """The first http(s) link in a plain-text mail."""
    match = re.search(r"https?://\S+", message.get_content())
    assert match, "no link in the mail"
    return match.group(0)


def start_smtp_server() -> tuple[Controller, Mailbox]:
    """Start aiosmtpd on a free port of 127.0.0.1."""
    mailbox = Mailbox()
    # aiosmtpd checks its server by connecting to the port it was given, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox
