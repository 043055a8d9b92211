"""VAPID: the key pair that identifies this server to push services, and the ``sub`` contact.

The private key comes from ``COMPANION_VAPID_PRIVATE_KEY`` (base64url DER or raw, or PEM) or from
``instance/vapid_private.pem`` (written by ``companion push vapid-keys``, or by the demo on first
start). Browsers subscribe with the public key; replacing the key pair invalidates every
subscription, so the command refuses to overwrite a key without ``--force``.

The subject must be a real ``mailto:`` or ``https:`` address: Apple's push service answers
403 BadJwtToken to ``localhost``, ``.local`` or ``.invalid``, and only iPhones fail, so it is
checked at start-up instead of discovered at the conference.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from py_vapid import Vapid02, VapidException

KEY_FILE = "vapid_private.pem"
DEMO_SUBJECT = "mailto:push@demo.conference-companion.invalid"
# Hosts push services (Apple's first) refuse in the VAPID subject.
_LOCAL_SUFFIXES = (".localhost", ".local", ".invalid", ".test", ".example", ".internal", ".lan", ".home.arpa")


class VapidError(ValueError):
    """The VAPID key or subject cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class VapidKeys:
    """The loaded key pair: ``vapid`` signs, ``public_key`` is what browsers subscribe with."""

    vapid: Vapid02
    public_key: str  # base64url, no padding, of the uncompressed P-256 point (65 bytes)


def b64url(data: bytes) -> str:
    """Base64url without padding, as the Push API and VAPID use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding. :raise ValueError: not base64url."""
    if not isinstance(text, str) or not text or any(c not in _B64URL for c in text.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def generate_private_pem() -> str:
    """A new P-256 private key as PEM (PKCS#8)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def write_key_file(instance: Path, *, force: bool = False) -> Path:
    """Write a new private key to ``instance/vapid_private.pem`` (mode 0600).

    :raise VapidError: the file exists and ``force`` is false.
    """
    path = instance / KEY_FILE
    if path.exists() and not force:
        raise VapidError(f"{path} exists already. Replacing it makes every phone's subscription stop working "
                         "(they must turn notifications on again); add --force if that is what you want.")
    instance.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(generate_private_pem())
    return path


def _from_text(text: str) -> Vapid02:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return Vapid02.from_pem(text.encode("ascii"))
    return Vapid02.from_string(text)


def load_keys(app: Flask) -> VapidKeys | None:
    """The app's VAPID keys: ``VAPID_PRIVATE_KEY``, else the instance file; None if there is neither.

    :raise VapidError: the configured key cannot be read.
    """
    configured = app.config.get("VAPID_PRIVATE_KEY")
    path = Path(app.instance_path) / KEY_FILE
    try:
        if configured:
            vapid = _from_text(str(configured))
        elif path.exists():
            vapid = _from_text(path.read_text())
        else:
            return None
    except (VapidException, ValueError, TypeError) as exc:
        where = "COMPANION_VAPID_PRIVATE_KEY" if configured else str(path)
        raise VapidError(f"{where} is not a P-256 private key (PEM, or base64url DER or raw): {exc}") from exc
    point = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidKeys(vapid=vapid, public_key=b64url(point))


def is_local_host(host: str) -> bool:
    """True for hosts that only mean something on this machine or network (localhost, 10.x, .local, ...)."""
    host = host.strip("[]").rstrip(".").lower()
    if not host or host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or "." not in host and ":" not in host:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def check_subject(subject: str | None) -> str:
    """Return ``subject`` if push services will accept it as the VAPID ``sub``.

    :raise VapidError: not a ``mailto:`` or ``https:`` address, or a localhost-like one.
    """
    subject = (subject or "").strip()
    advice = ("Set COMPANION_VAPID_SUBJECT to a real address people can reach, such as "
              "mailto:tech@conf.example.org or https://conf.example.org.")
    if subject.startswith("mailto:"):
        _, _, host = subject[len("mailto:"):].rpartition("@")
        if not host:
            raise VapidError(f"The VAPID subject {subject!r} has no mail address. {advice}")
    elif subject.startswith("https://"):
        host = urlsplit(subject).hostname or ""
    else:
        raise VapidError(f"The VAPID subject {subject!r} must start with mailto: or https://. {advice}")
    if is_local_host(host):
        raise VapidError(f"The VAPID subject {subject!r} names {host!r}, which only works on this network: "
                         f"Apple's push service refuses it (403 BadJwtToken) and iPhones get nothing. {advice}")
    return subject


def subject_for(app: Flask) -> str:
    """The VAPID subject to sign with: checked outside the demo, development and tests.

    :raise VapidError: see :func:`check_subject`; production without one.
    """
    subject = app.config.get("VAPID_SUBJECT")
    if app.config["ENV"] == "production":
        return check_subject(subject)
    return subject or DEMO_SUBJECT
