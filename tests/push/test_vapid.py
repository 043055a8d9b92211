"""VAPID keys and subject: made once, never overwritten by accident, localhost-like subjects refused."""

from __future__ import annotations

import base64
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from companion import create_app
from companion.push.vapid import VapidError, check_subject, load_keys, subject_for


@pytest.mark.parametrize("subject", ["mailto:tech@pytorch.org", "https://events.linuxfoundation.org",
                                     "mailto:ops@conf.example.org"])
def test_real_subjects_are_accepted(subject):
    assert check_subject(subject) == subject


@pytest.mark.parametrize(("subject", "says"), [
    ("mailto:admin@localhost", "'localhost', which only works on this network"),
    ("mailto:me@box.local", "'box.local', which only works on this network"),
    ("https://push.invalid", "'push.invalid', which only works on this network"),
    ("https://127.0.0.1", "'127.0.0.1', which only works on this network"),
    ("https://10.1.2.3", "'10.1.2.3', which only works on this network"),
    ("mailto:", "has no mail address"),
    ("admin@conf.example.org", "must start with mailto: or https://"),
    ("http://conf.example.org", "must start with mailto: or https://"),
    ("", "must start with mailto: or https://"),
])
def test_localhost_like_or_malformed_subjects_are_refused(subject, says):
    with pytest.raises(VapidError) as refused:
        check_subject(subject)
    assert says in str(refused.value)
    assert "Set COMPANION_VAPID_SUBJECT" in str(refused.value)


def test_production_checks_the_subject_and_the_demo_has_its_own(tmp_path):
    production = create_app({"ENV": "production", "SECRET_KEY": "x", "PUBLIC_URL": "https://conf.example.org",
                             "DATABASE_URL": f"sqlite:///{tmp_path}/p.db", "VAPID_SUBJECT": "mailto:a@localhost"})
    demo = create_app({"ENV": "demo", "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/d.db"})

    with pytest.raises(VapidError, match="Apple's push service refuses it"):
        subject_for(production)
    assert subject_for(demo) == "mailto:push@demo.conference-companion.invalid"


def test_vapid_keys_command_writes_once_and_refuses_to_overwrite(app, runner, tmp_path):
    other = create_app({"ENV": "testing", "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/v.db",
                        "INSTANCE_PATH": str(tmp_path / "instance")})
    cli = other.test_cli_runner()

    made = cli.invoke(args=["push", "vapid-keys"])
    first_key = load_keys(other).public_key
    again = cli.invoke(args=["push", "vapid-keys"])
    forced = cli.invoke(args=["push", "vapid-keys", "--force"])

    key_file = tmp_path / "instance" / "vapid_private.pem"
    assert made.exit_code == 0, made.output
    assert made.stdout.strip() == first_key != forced.stdout.strip() == load_keys(other).public_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert again.exit_code == 1 and "exists already" in again.output and "--force" in again.output
    assert forced.exit_code == 0


def test_key_from_the_environment_setting(tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    raw = private.private_numbers().private_value.to_bytes(32, "big")
    app = create_app({"ENV": "testing", "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/e.db",
                      "INSTANCE_PATH": str(tmp_path), "VAPID_PRIVATE_KEY": base64.urlsafe_b64encode(raw).decode().rstrip("=")})
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    assert load_keys(app).public_key == base64.urlsafe_b64encode(point).decode().rstrip("=")


def test_an_unreadable_configured_key_says_where(tmp_path):
    app = create_app({"ENV": "testing", "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/e.db",
                      "INSTANCE_PATH": str(tmp_path), "VAPID_PRIVATE_KEY": "not-a-key"})
    with pytest.raises(VapidError, match="COMPANION_VAPID_PRIVATE_KEY is not a P-256 private key"):
        load_keys(app)
