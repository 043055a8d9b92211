"""Push fixtures: the app's VAPID key, and devices subscribed in the real push service emulator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from companion.push.vapid import KEY_FILE, VapidKeys, load_keys, write_key_file
from tests.pushemulator import PushEmulator


@pytest.fixture(scope="session")
def vapid(app: Flask) -> VapidKeys:
    """The test app's VAPID key pair (written once to its instance folder)."""
    if not (Path(app.instance_path) / KEY_FILE).exists():
        write_key_file(Path(app.instance_path))
    keys = load_keys(app)
    assert keys is not None
    return keys


@dataclass(frozen=True)
class Device:
    """A browser's subscription, made in the emulator: what the app stores, and how to read its inbox."""

    endpoint: str
    p256dh: str
    auth: str
    client_hash: str

    def as_json(self) -> dict:
        """What ``PushSubscription.toJSON()`` gives a page."""
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@pytest.fixture
def new_device(push_emulator: PushEmulator, vapid: VapidKeys):
    """Make a device subscribed with the app's key in the emulator: ``new_device()``."""

    def make() -> Device:
        data = push_emulator.subscribe(vapid.public_key)
        return Device(data["endpoint"], data["keys"]["p256dh"], data["keys"]["auth"], data["clientHash"])

    return make
