"""Absolute URLs for links that leave the browser: mails, QR codes, exports, calendar feeds."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def external_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` as an absolute URL on ``PUBLIC_URL`` when it is set.

    Without ``PUBLIC_URL`` the request's own address is used (fine for the demo; behind a proxy
    set ``PUBLIC_URL`` so a QR code printed today does not point at an internal host name).
    """
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
