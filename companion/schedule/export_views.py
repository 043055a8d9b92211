"""``/schedule/export/schedule.{json,xml,ics}``: the exports, rendered once per schedule version.

Served from the per-process cache with a strong ETag, 304 answers and pre-gzipped bytes (see
:mod:`companion.schedule.serving`), so calendar clients polling the feed cost next to nothing.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from companion.schedule import cache, queries
from companion.schedule.exporters import EXPORTS, no_schedule, render_export
from companion.schedule.serving import cached_response

bp = Blueprint("schedule_export", __name__, url_prefix="/schedule/export")

EXPORT_MAX_AGE = 60


@bp.get("/schedule.<any(json, xml, ics):fmt>")
def export(fmt: str) -> Response:
    """The schedule as c3voc JSON, frab XML or iCalendar (GET and HEAD; ETag, 304, gzip).

    :raise Problem: 404 if no schedule has been imported yet.
    """
    version = cache.current_version(queries.schedule_version, float(current_app.config["SCHEDULE_CACHE_SECONDS"]))
    if not version:
        raise no_schedule()
    filename, mimetype, _ = EXPORTS[fmt]
    # Exports carry absolute session URLs. With PUBLIC_URL (required in production) they are the
    # same for everyone. Without it (demo, development) they follow the request's Host header,
    # which the client controls: such a document is cached per host here and never shared.
    if current_app.config.get("PUBLIC_URL"):
        entry = cache.get_or_render(f"export-{fmt}", version, mimetype, lambda: render_export(fmt))
        return cached_response(entry, max_age=EXPORT_MAX_AGE, filename=filename)
    entry = cache.get_or_render(f"export-{fmt}-{request.host}", version, mimetype, lambda: render_export(fmt))
    return cached_response(entry, max_age=EXPORT_MAX_AGE, filename=filename, shared=False)
