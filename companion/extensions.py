"""Flask extensions, created unbound here and bound to an app in :func:`companion.create_app`."""

from __future__ import annotations

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from flask_sqlalchemy import SQLAlchemy
from spectree import SpecTree

from companion.database import Base
from companion.errors import spectree_validation_hook

db = SQLAlchemy(model_class=Base)
# Batch mode: SQLite cannot ALTER most things in place, so Alembic rebuilds the table there.
migrate = Migrate(render_as_batch=True, compare_type=True)
compress = Compress()
csrf = CSRFProtect()
login_manager = LoginManager()
# Limits are per client address unless a route keys them otherwise (sign-in: per email too).
# In memory by default; several app servers share RATELIMIT_STORAGE_URI (e.g. redis://...).
limiter = Limiter(key_func=get_remote_address)
# pydantic validates API input; spectree turns the same models into /api/v1/openapi.json.
api_spec = SpecTree(
    "flask",
    title="Conference Companion API",
    version="v1",
    # spectree leaves out routes under its own path, so it lives below the API; our own
    # /api/v1/openapi.json (companion.api) serves the same document.
    path="api/v1/docs",
    page_templates={},
    mode="strict",
    validation_error_status=400,
    before=spectree_validation_hook,
    annotations=True,
)
