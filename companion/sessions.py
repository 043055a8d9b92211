"""The cookie session, minus ``Vary: Cookie`` on public documents.

Flask adds ``Vary: Cookie`` whenever a request read the session, and Flask-Login reads it on
every request. The schedule document and the exports are the same for everyone, so they are
marked public (:func:`mark_public`) and keep a cache-friendly ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from flask.typing import ResponseReturnValue
from flask.sessions import SecureCookieSessionInterface, SessionMixin


def not_stored(body: ResponseReturnValue) -> Response:
    """A response no cache may keep, the service worker's included (static/sw.js honours
    ``no-store``): staff and booth pages name people and show live codes, and must not outlive
    the shift on a borrowed phone."""
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def mark_public() -> None:
    """Declare that this request's response does not depend on who asks."""
    g.public_response = True


class PublicAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session that leaves public responses alone."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if g.get("public_response") and not session.modified:
            return  # no cookie to set, and nothing in the body depends on one
        super().save_session(app, session, response)
