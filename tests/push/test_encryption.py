"""Our RFC 8291 encryption, decrypted by an independent implementation (http_ece, pywebpush's)."""

from __future__ import annotations

import os

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from companion.push.encryption import encrypt


def _receiver() -> tuple[ec.EllipticCurvePrivateKey, bytes, bytes]:
    private = ec.generate_private_key(ec.SECP256R1())
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return private, point, os.urandom(16)


@pytest.mark.parametrize("size", [1, 100, 3072, 4079])
def test_http_ece_decrypts_what_we_encrypt(size):
    private, point, auth = _receiver()
    payload = os.urandom(size)

    body = encrypt(payload, point, auth)

    assert http_ece.decrypt(body, private_key=private, auth_secret=auth, version="aes128gcm") == payload
    assert len(body) == 16 + 4 + 1 + 65 + size + 1 + 16  # salt, record size, key id, ciphertext, delimiter, tag


def test_each_message_has_its_own_key_and_salt():
    _, point, auth = _receiver()
    first, second = encrypt(b"same", point, auth), encrypt(b"same", point, auth)
    assert first[:16] != second[:16] and first[21:86] != second[21:86] and first[86:] != second[86:]


def test_a_payload_over_one_record_and_a_bad_key_are_refused():
    _, point, auth = _receiver()
    with pytest.raises(ValueError, match="does not fit one 4096-byte record"):
        encrypt(b"x" * 4080, point, auth)
    with pytest.raises(ValueError):
        encrypt(b"x", b"\x04" + b"\x00" * 64, auth)
