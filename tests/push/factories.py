"""Push test factories: devices stored for a person, with keys a real browser could have made."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from companion.accounts.models import User
from companion.extensions import db
from companion.push import services
from companion.push.models import PushSubscription


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_keys() -> tuple[str, str, ec.EllipticCurvePrivateKey]:
    """(p256dh, auth, private key): what a browser generates for a subscription."""
    private = ec.generate_private_key(ec.SECP256R1())
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64(point), _b64(os.urandom(16)), private


def make_subscription(user: User, endpoint: str | None = None, *,
                      now: datetime = datetime(2026, 4, 7, 6, 0, tzinfo=UTC)) -> PushSubscription:
    """A device of ``user`` (committed), on a made-up FCM endpoint unless one is given."""
    p256dh, auth, _ = browser_keys()
    subscription = services.subscribe(user, endpoint or f"https://fcm.googleapis.com/fcm/send/{_b64(os.urandom(12))}",
                                      p256dh, auth, now=now)
    db.session.commit()
    return subscription
