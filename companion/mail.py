"""Outgoing mail: SMTP in production, the console and a folder in the demo.

Sign-in links are sent from the request that asks for them: one short SMTP conversation. Bulk
mail would belong in a worker process.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import current_app


def build_message(to: str, subject: str, text: str) -> EmailMessage:
    """A plain-text mail from ``MAIL_FROM`` to ``to``."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="conference-companion")
    message.set_content(text)
    return message


def send(message: EmailMessage) -> None:
    """Deliver ``message`` through the configured backend.

    :raise OSError: if the SMTP server cannot be reached or refuses the mail (smtplib errors are OSErrors).
    """
    config = current_app.config
    if config["MAIL_BACKEND"] == "console":
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("@", "_").replace("/", "_")
        (folder / f"{name}.eml").write_bytes(message.as_bytes())
        print(f"--- mail to {message['To']} ({folder / name}.eml) ---\n{message.get_content()}", flush=True)
        return
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if config["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=10, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=10)
    with smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=context)
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
