"""One set of error handlers: an HTML page for people, ``application/problem+json`` for programs.

Anything that goes wrong answers with what was wrong and where (RFC 9457 problem details), never
a bare 500 page with a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, json, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"


class Problem(Exception):
    """An error to show the client: a status, a short title, and a detail a person can act on.

    :param status: the HTTP status code.
    :param detail: what was wrong and what to do about it.
    :param title: a short summary; defaults to the status phrase.
    :param errors: optional list of ``{"loc": ..., "msg": ...}`` pointing at the bad input.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.errors = errors or []


def wants_json() -> bool:
    """True if the client is a program: an API path, or JSON preferred over HTML."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_MIMETYPE])
    return best in ("application/json", PROBLEM_MIMETYPE)


def problem_response(status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None) -> Response:
    """Render a problem as JSON or as an HTML page, by what the client accepts."""
    if wants_json():
        body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        if errors:
            body["errors"] = errors
        return current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    html = render_template("errors/problem.html", status=status, title=title, detail=detail, errors=errors or [])
    return current_app.response_class(html, status=status, mimetype="text/html")


def _handle_problem(exc: Problem) -> Response:
    from werkzeug.http import HTTP_STATUS_CODES

    return problem_response(exc.status, exc.title or HTTP_STATUS_CODES.get(exc.status, "Error"), exc.detail, exc.errors)


def _handle_http(exc: HTTPException) -> Response:
    if exc.response is not None:  # a response already made (spectree's abort, redirects)
        return exc.response
    response = problem_response(exc.code or 500, exc.name, exc.description or exc.name)
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _handle_unexpected(exc: Exception) -> Response:
    original = getattr(exc, "original_exception", None) or exc
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return problem_response(
        500,
        "Internal Server Error",
        "Something went wrong on our side. Nothing was changed; please try again, "
        "and tell the organisers if it keeps happening.",
    )


def spectree_validation_hook(req: Any, resp: Any, req_validation_error: Any, instance: Any, *args: Any) -> None:
    """Turn spectree's request-validation failure into our 400 problem, naming each bad field."""
    if req_validation_error is None:
        return
    errors = [
        {
            "loc": ".".join(str(part) for part in err.get("loc", ())) or "request",
            "msg": err.get("msg", "invalid"),
        }
        for err in req_validation_error.errors()
    ]
    where = ", ".join(f"{e['loc']}: {e['msg']}" for e in errors)
    raise Problem(400, f"The request's parameters are not valid ({where}).", title="Bad Request", errors=errors)


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(Problem, _handle_problem)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
