"""A real web push service for the tests: the npm package web-push-testing on 127.0.0.1.

``tests/node/push-emulator.js`` runs web-push-testing's ``TestingServer`` bound to 127.0.0.1 on a
free port; this module starts it, talks to its API and stops it. Pushes travel over HTTP exactly
as they would to a browser vendor's push service: the emulator checks the VAPID JWT against the
subscription's application server key, decrypts the aes128gcm (or aesgcm) body with the
subscription's private key and keeps the plaintext for :meth:`PushEmulator.notifications`.

What the emulator insists on (a sender that gets these wrong gets an error, as it should):

- ``Content-Type: application/octet-stream`` on the push, or the body is not read and the push
  answers 400;
- a ``TTL`` header, ``Content-Encoding: aes128gcm`` (or ``aesgcm``) and, for a subscription made
  with an application server key, a valid VAPID ``Authorization`` header; else 400;
- a push to an expired subscription answers 410, to an unknown one 400 (not 404);
- a successful push answers 201 with an empty body.

The node packages come from ``tests/node/package-lock.json``: ``cd tests/node && npm ci``.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.realparts import missing

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "push-emulator.js"
PACKAGE = NODE_DIR / "node_modules" / "web-push-testing" / "package.json"
INSTALL_HINT = "install the node packages: cd tests/node && npm ci"
START_TIMEOUT = 15.0
READY_PREFIX = "listening "


class PushEmulator:
    """A running web-push-testing server; ``url`` is its base, e.g. ``http://127.0.0.1:40123``."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, stderr_path: Path) -> None:
        self.process = process
        self.url = url
        self._stderr_path = stderr_path
        self._http = requests.Session()
        self._http.trust_env = False  # never send 127.0.0.1 through an HTTP(S)_PROXY

    def _post(self, path: str, payload: dict | None = None) -> requests.Response:
        return self._http.post(f"{self.url}{path}", json=payload, timeout=10)

    def subscribe(self, application_server_key: str) -> dict:
        """Subscribe a new client, as ``pushManager.subscribe({applicationServerKey})`` would.

        ``application_server_key`` is the VAPID public key: the raw uncompressed P-256 point
        (65 bytes, starting 0x04), base64url without padding. Returns the subscription::

            {"endpoint": "http://127.0.0.1:<port>/notify/<clientHash>",
             "keys": {"p256dh": "<b64url>", "auth": "<b64url>"},
             "clientHash": "<64 hex digits>"}

        ``endpoint`` and ``keys`` are what a browser's ``PushSubscription.toJSON()`` holds;
        ``clientHash`` names the client in :meth:`notifications` and :meth:`expire`.
        """
        response = self._post("/subscribe", {"applicationServerKey": application_server_key})
        if response.status_code != 200:
            raise RuntimeError(
                f"push emulator refused the subscription: {response.status_code} {response.text}"
            )
        return response.json()["data"]

    def notifications(self, client_hash: str) -> list:
        """Every push the client received so far, decrypted, oldest first.

        The emulator answers ``{"data": {"messages": [...]}}``; this returns that list. Each
        message is a ``str``: the decrypted payload bytes decoded as UTF-8 (the emulator does
        ``Buffer.toString('utf-8')``, so bytes that are not UTF-8 turn into U+FFFD). No headers,
        TTL or urgency are kept. Reading does not consume: the list only grows, also after
        :meth:`expire`. ``[]`` when nothing arrived; an unknown ``client_hash`` raises.
        """
        response = self._post("/get-notifications", {"clientHash": client_hash})
        if response.status_code != 200:
            raise RuntimeError(
                f"push emulator has no client {client_hash}: {response.status_code} {response.text}"
            )
        return response.json()["data"]["messages"]

    def expire(self, client_hash: str) -> None:
        """Expire the subscription: every later push to its endpoint answers 410 Gone."""
        response = self._post(f"/expire-subscription/{client_hash}")
        if response.status_code != 200:
            raise RuntimeError(
                f"push emulator cannot expire {client_hash}: {response.status_code} {response.text}"
            )

    def stderr(self) -> str:
        """What the emulator wrote to stderr so far (library errors, e.g. a rejected VAPID JWT)."""
        return self._stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the emulator (closing its stdin ends it; SIGTERM, then SIGKILL, if it lingers)."""
        self._http.close()
        if self.process.poll() is None:
            _end(self.process)
        self._stderr_path.unlink(missing_ok=True)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.stdin and not process.stdin.closed:
        try:
            process.stdin.close()
        except OSError:
            pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.terminate()
    else:
        if process.stdout:
            process.stdout.close()
        return
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    finally:
        if process.stdout:
            process.stdout.close()


def start_push_emulator() -> PushEmulator:
    """Start web-push-testing on a free port of 127.0.0.1 and wait until it accepts connections.

    A missing ``node`` or an uninstalled ``tests/node`` skips the test (fails it under
    ``COMPANION_REQUIRE_REAL``).
    """
    node = shutil.which("node")
    if node is None:
        missing("web-push-testing", f"node is not on PATH; install Node.js 20+, then {INSTALL_HINT}")
    if not PACKAGE.is_file():
        missing("web-push-testing", f"{PACKAGE.parent} is missing; {INSTALL_HINT}")

    stderr_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept until stop()
        prefix="push-emulator-", suffix=".stderr", delete=False
    )
    stderr_path = Path(stderr_file.name)
    with stderr_file:
        process = subprocess.Popen(
            [node, str(SCRIPT), "0"],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,  # kept open: the emulator exits when it closes
            stdout=subprocess.PIPE,
            stderr=stderr_file,
        )
    assert process.stdout is not None
    line = _read_line(process, START_TIMEOUT)
    if line is None or not line.startswith(READY_PREFIX):
        code = process.poll()
        _end(process)
        stderr = stderr_path.read_text(errors="replace").strip()
        stderr_path.unlink(missing_ok=True)
        state = (
            f"was not listening within {START_TIMEOUT:g} s"
            if code is None
            else f"exited with status {code} before listening"
        )
        raise RuntimeError(
            f"the web push emulator ({SCRIPT}) {state}; stdout: {line!r}; stderr:\n"
            f"{stderr or '(empty)'}"
        )
    return PushEmulator(process, line[len(READY_PREFIX) :], stderr_path)


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str | None:
    """The first line of ``process``'s stdout, or None if none came within ``timeout`` s or EOF."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    buffer = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return buffer.decode(errors="replace") or None
            chunk = os.read(fd, 4096)
            if not chunk:  # EOF: the script ended
                return buffer.decode(errors="replace") or None
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode(errors="replace").rstrip("\r")


@pytest.fixture(scope="session")
def push_emulator() -> Iterator[PushEmulator]:
    """The run's web push service (web-push-testing on 127.0.0.1), stopped at the end."""
    emulator = start_push_emulator()
    try:
        yield emulator
    finally:
        emulator.stop()
