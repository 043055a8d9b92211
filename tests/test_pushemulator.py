"""The web push emulator harness works on its own: subscribe, push with pywebpush, read, expire."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPushException, webpush

from tests.pushemulator import PushEmulator


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def vapid_keys() -> tuple[str, str]:
    """A fresh VAPID key pair: (private key as b64url PKCS#8 DER, raw public point as b64url)."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    private_der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_raw = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(private_der), b64url(public_raw)


def send(subscription: dict, data: str, private_key: str):  # noqa: ANN201 - requests.Response
    return webpush(
        {"endpoint": subscription["endpoint"], "keys": subscription["keys"]},
        data,
        vapid_private_key=private_key,
        # A fresh dict every time: webpush writes "aud" and "exp" into the dict it is given.
        vapid_claims={"sub": "mailto:test@example.org"},
        headers={"Content-Type": "application/octet-stream"},
        timeout=10,
        content_encoding="aes128gcm",
    )


def test_a_push_arrives_decrypted_and_an_expired_subscription_answers_410(
    push_emulator: PushEmulator,
) -> None:
    private_key, public_key = vapid_keys()
    subscription = push_emulator.subscribe(public_key)
    client_hash = subscription["clientHash"]
    assert len(client_hash) == 64
    assert subscription["endpoint"] == f"{push_emulator.url}/notify/{client_hash}"
    assert push_emulator.notifications(client_hash) == []

    payload = '{"title": "Room change", "body": "Keynote moves to Hall B \u2192 level 2"}'
    response = send(subscription, payload, private_key)
    assert response.status_code == 201

    assert push_emulator.notifications(client_hash) == [payload]

    push_emulator.expire(client_hash)
    with pytest.raises(WebPushException) as gone:
        send(subscription, "after expiry", private_key)
    assert gone.value.response is not None
    assert gone.value.response.status_code == 410
    assert gone.value.response.json() == {
        "reason": "Push subscription has unsubscribed or expired.",
    }
    assert push_emulator.notifications(client_hash) == [payload]
