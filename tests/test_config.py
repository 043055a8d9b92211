"""Configuration: environment overrides, the instance secret key, production refusing to guess."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from companion import create_app
from companion.config import SETTINGS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_documents_every_setting():
    documented = set(re.findall(r"`COMPANION_([A-Z_]+)`", README.read_text()))

    assert {s.name for s in SETTINGS} <= documented


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_SECRET_KEY", raising=False)
    monkeypatch.setenv("COMPANION_ENV", "production")

    with pytest.raises(RuntimeError, match="COMPANION_SECRET_KEY is not set"):
        create_app({"INSTANCE_PATH": str(tmp_path)})

    assert not (tmp_path / "secret_key").exists()


def test_demo_generates_and_keeps_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_SECRET_KEY", raising=False)

    first = create_app({"ENV": "demo", "INSTANCE_PATH": str(tmp_path)})
    second = create_app({"ENV": "demo", "INSTANCE_PATH": str(tmp_path)})

    key_file = tmp_path / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) == 64
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_environment_overrides_instance_file(tmp_path, monkeypatch):
    (tmp_path / "companion.toml").write_text('SCHEDULE_CACHE_SECONDS = 5.0\nLOG_LEVEL = "WARNING"\n')
    monkeypatch.setenv("COMPANION_SCHEDULE_CACHE_SECONDS", "2.5")
    monkeypatch.setenv("COMPANION_DATABASE_URL", "postgres://someone@db.example/conf")

    app = create_app({"ENV": "development", "INSTANCE_PATH": str(tmp_path)})

    assert app.config["SCHEDULE_CACHE_SECONDS"] == 2.5
    assert app.config["LOG_LEVEL"] == "WARNING"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://someone@db.example/conf"


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_DATABASE_URL", raising=False)

    app = create_app({"ENV": "development", "INSTANCE_PATH": str(tmp_path)})

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'companion.sqlite3'}"


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="COMPANION_ENV='staging' is not one of"):
        create_app({"ENV": "staging", "INSTANCE_PATH": str(tmp_path)})


def test_security_headers_on_every_response(client):
    response = client.get("/api/v1/health")

    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_production_refuses_to_start_without_a_public_url(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_PUBLIC_URL", raising=False)

    with pytest.raises(RuntimeError, match="COMPANION_PUBLIC_URL is not set"):
        create_app({"ENV": "production", "SECRET_KEY": "k" * 64, "INSTANCE_PATH": str(tmp_path)})

    app = create_app({"ENV": "production", "SECRET_KEY": "k" * 64, "INSTANCE_PATH": str(tmp_path),
                      "PUBLIC_URL": "https://conf.example.org/"})
    assert app.config["PUBLIC_URL"] == "https://conf.example.org"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_behind_a_proxy_the_client_address_comes_from_the_proxy(tmp_path):
    from flask import request

    app = create_app({"ENV": "development", "INSTANCE_PATH": str(tmp_path), "PROXY_HOPS": 1})

    @app.get("/whoami")
    def whoami():
        return {"addr": request.remote_addr, "scheme": request.scheme}

    answer = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
                                   environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert answer.get_json() == {"addr": "203.0.113.7", "scheme": "https"}
