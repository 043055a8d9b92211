"""Settings: defaults here, then ``instance/companion.toml``, then ``COMPANION_*`` variables.

Every setting is declared once in :data:`SETTINGS`; the README's configuration table is checked
against it by a test, so a setting cannot exist without being documented.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

ENVIRONMENTS = ("production", "development", "demo", "testing")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "production", "production, development, demo or testing. Production refuses to start without COMPANION_SECRET_KEY."),
    Setting("SECRET_KEY", None, "Signs sessions and tokens. Required in production; elsewhere generated once and kept in instance/secret_key."),
    Setting("DATABASE_URL", None, "SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. Default: SQLite file instance/companion.sqlite3."),
    Setting("INSTANCE_PATH", None, "Folder for the SQLite file, the generated secret key and companion.toml. Default: ./instance."),
    Setting("PUBLIC_URL", None, "The address attendees use, e.g. https://conf.example.org: absolute links in exports and feeds. Default: the address of the request."),
    Setting("SCHEDULE_CACHE_SECONDS", 1.0, "How long a worker trusts its cached schedule document before checking the database's schedule version again."),
    Setting("MAX_IMPORT_BYTES", 20 * 1024 * 1024, "Largest file any import accepts, in bytes: schedule files and attendee CSVs, from the command line or uploaded on a staff page (requests may be 1 MiB larger, for the form around the file)."),
    Setting("LOG_LEVEL", "INFO", "Python logging level of the app's loggers."),
    Setting("PROXY_HOPS", 0, "How many reverse proxies (nginx, a load balancer) stand in front of the app: their X-Forwarded-For/-Proto/-Host headers are then trusted, so rate limits see each attendee's address."),
    Setting("FEED_RATE_LIMIT", "60 per minute", "How often one client may poll one private calendar feed (and miss tokens), in Flask-Limiter notation."),
    Setting("SIGN_IN_RATE_LIMIT", "600 per hour", "How many sign-in requests (links asked for, links used, staff passwords) one client address may make, in Flask-Limiter notation. A venue's Wi-Fi puts hundreds of people behind one address; each email address has its own tighter limit."),
    Setting("REMEMBER_DAYS", 7, "How long a signed-in phone stays signed in (set it to the length of the conference plus a day)."),
    Setting("RATELIMIT_STORAGE_URI", "memory://", "Where rate-limit counters live. memory:// counts in each process: with several gunicorn workers or app servers every limit is multiplied by their number, so use a shared store such as redis://host:6379."),
    Setting("IDEMPOTENCY_TTL_HOURS", 24, "How long the API keeps the answer to a request sent with an Idempotency-Key (the offline queue's replays): the same key gets the same answer for this long."),
    Setting("VAPID_PRIVATE_KEY", None, "The web push VAPID private key (PEM, or base64url DER or raw). Default: instance/vapid_private.pem, made by `companion push vapid-keys` (the demo makes one)."),
    Setting("VAPID_SUBJECT", None, "Contact push services see: a real mailto: or https: address (Apple refuses localhost, .local, .invalid). Required in production."),
    Setting("PUSH_ALLOW_LOCAL_ENDPOINTS", None, "Accept http:// and private-address push endpoints (a local push service emulator). Default: yes outside production, no in production."),
    Setting("MAIL_BACKEND", None, "smtp, or console (print mails and keep them in instance/mail/). Default: smtp in production, console elsewhere."),
    Setting("MAIL_SERVER", "localhost", "SMTP host."),
    Setting("MAIL_PORT", 25, "SMTP port (587 with MAIL_USE_TLS, 465 with MAIL_USE_SSL)."),
    Setting("MAIL_USE_TLS", False, "Upgrade the SMTP connection with STARTTLS."),
    Setting("MAIL_USE_SSL", False, "Connect to the SMTP server over TLS from the start."),
    Setting("MAIL_USERNAME", None, "SMTP user name, if the server wants one."),
    Setting("MAIL_PASSWORD", None, "SMTP password."),
    Setting("MAIL_FROM", "Conference Companion <noreply@localhost>", "The From: of every mail."),
)

CONFIG_FILE = "companion.toml"


def instance_path_from_env() -> str:
    """The instance folder: ``COMPANION_INSTANCE_PATH`` or ``./instance``, absolute."""
    return str(Path(os.environ.get("COMPANION_INSTANCE_PATH") or "instance").resolve())


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, the instance file, the environment and ``overrides``.

    :raise RuntimeError: in production without an explicit secret key.
    """
    for setting in SETTINGS:
        app.config[setting.name] = setting.default
    app.config.from_file(CONFIG_FILE, load=tomllib.load, text=False, silent=True)
    app.config.from_prefixed_env(prefix="COMPANION")
    if overrides:
        app.config.update(overrides)

    env = app.config["ENV"]
    if env not in ENVIRONMENTS:
        raise RuntimeError(f"COMPANION_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}")
    app.config["TESTING"] = env == "testing" or bool(app.config.get("TESTING"))

    if not app.config.get("SECRET_KEY"):
        if env == "production":
            raise RuntimeError(
                "COMPANION_SECRET_KEY is not set. In production the secret key must be given "
                "explicitly (for example: export COMPANION_SECRET_KEY=$(python -c "
                "'import secrets; print(secrets.token_hex(32))')), or set COMPANION_ENV=development."
            )
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))

    if env == "production" and not app.config.get("PUBLIC_URL"):
        raise RuntimeError(
            "COMPANION_PUBLIC_URL is not set. In production the app must know the address attendees "
            "use (for example https://conf.example.org): it goes into badge QR codes, sign-in mails "
            "and calendar feeds, and must not be taken from the request's Host header."
        )
    if app.config.get("PUBLIC_URL"):
        app.config["PUBLIC_URL"] = str(app.config["PUBLIC_URL"]).rstrip("/")
    database_url = app.config.get("DATABASE_URL") or f"sqlite:///{Path(app.instance_path) / 'companion.sqlite3'}"
    app.config["DATABASE_URL"] = database_url
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(database_url)
    # PostgreSQL connections that sat idle are tested before use: companion.database.configure_engine.
    app.config["JSON_SORT_KEYS"] = False
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_IMPORT_BYTES"]) + 1024 * 1024
    # Static files carry a content hash in their URL (see companion.assets), so they may be cached for long.
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 365 * 24 * 3600
    # Cookies: never readable by scripts, not sent on cross-site requests, HTTPS-only outside
    # the demo and development (which run on http://127.0.0.1).
    secure = env == "production"
    for prefix in ("SESSION", "REMEMBER"):
        app.config[f"{prefix}_COOKIE_HTTPONLY"] = True
        app.config[f"{prefix}_COOKIE_SAMESITE"] = "Lax"
        app.config[f"{prefix}_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=int(app.config["REMEMBER_DAYS"]))
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = False
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = "smtp" if env == "production" else "console"
    # The API takes the CSRF token in a header; forms in a hidden field (Flask-WTF).
    app.config["WTF_CSRF_HEADERS"] = ["X-CSRFToken"]
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # tied to the session; a phone left open all day still works
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config["COMPRESS_MIMETYPES"] = [
        "text/html", "text/css", "application/javascript", "text/javascript", "application/json",
        "application/problem+json", "application/manifest+json", "text/calendar", "application/xml",
        "image/svg+xml",
    ]


def _normalise_database_url(url: str) -> str:
    # psycopg 3 is the PostgreSQL driver; accept the plain postgres:// URLs hosting services print.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret_key(instance: Path) -> str:
    """Read the generated secret key from the instance folder, creating it on first use."""
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker starting at the same moment wrote it first
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
