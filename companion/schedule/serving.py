"""Serve a cached :class:`~companion.schedule.cache.Rendered` document over HTTP.

One function for the API's schedule document and the three exports, so they agree on caching:
a strong ETag, ``If-None-Match`` answered with 304, ``Cache-Control: public``, and the gzip bytes
made once per schedule version sent as they are to clients that accept gzip.

The gzip form is a different representation of the same document, so it carries its own strong
ETag (``"<etag>-gzip"``, as Apache does): a shared cache must never hand gzip bytes to a client that
asked for identity under the same validator. ``If-None-Match`` matches either form, because both
mean "I have this version of the document".
"""

from __future__ import annotations

from flask import Response, current_app, request

from companion.errors import Problem, wants_json
from companion.schedule import queries
from companion.schedule.cache import Rendered
from companion.schedule.models import Session
from companion.sessions import mark_public

GZIP_SUFFIX = "-gzip"


def cached_response(entry: Rendered, *, max_age: int, filename: str | None = None, shared: bool = True) -> Response:
    """Answer the current request with ``entry``: 200 with the body, or 304 if the client has it.

    Works for GET and HEAD (Flask answers HEAD through the GET view and drops the body).

    :param entry: the rendered document (body, gzip body, ETag, mimetype).
    :param max_age: seconds shared caches and clients may reuse the answer without asking again.
    :param filename: if given, ``Content-Disposition: inline; filename=...`` names the download.
    :param shared: False for a document that depends on the request's host: browsers may keep
        it, shared caches (CDN, proxy) may not.
    :return: the response; its ``Vary: Accept-Encoding`` tells caches the body depends on it.
    """
    if shared:
        mark_public()
    use_gzip = request.accept_encodings["gzip"] > 0
    etag = entry.etag + GZIP_SUFFIX if use_gzip else entry.etag
    headers = {
        "Cache-Control": f"{'public' if shared else 'private'}, max-age={max_age}",
        "Vary": "Accept-Encoding",
    }
    if_none_match = request.if_none_match
    if if_none_match.contains_weak(entry.etag) or if_none_match.contains_weak(entry.etag + GZIP_SUFFIX):
        response = current_app.response_class(status=304, headers=headers)
        response.set_etag(etag)
        return response
    response = current_app.response_class(entry.gzipped if use_gzip else entry.body, mimetype=entry.mimetype, headers=headers)
    if use_gzip:
        # Flask-Compress leaves a response alone once it has a Content-Encoding.
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    if filename:
        response.headers.set("Content-Disposition", "inline", filename=filename)
    return response


def session_or_404(code: str) -> Session:
    """The session with public ``code``, for any view or API function that takes one.

    :raise Problem: 404, worded for a program (API) or a person (page) as the client prefers.
    """
    found = queries.session_by_code(code)
    if found is None:
        hint = ("Codes are case-sensitive; see GET /api/v1/schedule." if wants_json()
                else "Find it on the schedule.")
        raise Problem(404, f"There is no session with code {code!r}. {hint}", title="Session not found")
    return found
