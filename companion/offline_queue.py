"""The offline queue's page, /queue: what this phone did offline, and what became of it.

The actions themselves live on the phone (IndexedDB, static/js/queue-core.js) and never on this
page's server copy: the page is the same for everyone, precached with the app shell so it opens
offline, and static/js/queue-view.js fills it in.
"""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("offline_queue", __name__)


@bp.get("/queue")
def page() -> str:
    """The list of actions kept on this phone (filled in by the browser)."""
    return render_template("offline_queue.html")
