"""Push JSON API under /api/v1/push: the server's key, my devices, my notification preferences.

Signed-in calls that change state carry the CSRF token in ``X-CSRFToken``. The renewal call
(``pushsubscriptionchange`` in the service worker) is the exception: the worker has no page and
no CSRF token, so the old endpoint, a secret only that device and we know, is its proof.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from spectree import Response as SpecResponse

from companion import timeutil
from companion.accounts import my_data
from companion.accounts.access import signed_in_required
from companion.accounts.models import User
from companion.errors import Problem
from companion.extensions import api_spec, csrf, db, limiter
from companion.push import services
from companion.push.my_data import export_push
from companion.push.models import LEAD_MINUTES
from companion.push.vapid import VapidError, load_keys

bp = Blueprint("push_api", __name__, url_prefix="/api/v1/push")
my_data.register_exporter("notifications", export_push)


class KeyOut(BaseModel):
    """The key browsers subscribe with (``applicationServerKey``: base64url, uncompressed P-256 point)."""

    applicationServerKey: str  # noqa: N815 - the Push API's own name


class KeysIn(BaseModel):
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)


class SubscriptionIn(BaseModel):
    """A browser's ``PushSubscription.toJSON()``: endpoint, keys, expirationTime (ignored)."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(max_length=2048)
    keys: KeysIn
    expirationTime: int | None = None  # noqa: N815


class SubscribedOut(BaseModel):
    """This device is subscribed; ``devices``: how many I have."""

    subscribed: bool
    devices: int


class UnsubscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(max_length=2048)


class UnsubscribedOut(BaseModel):
    """``removed``: this call removed the device (false if it was not mine or not there)."""

    removed: bool
    devices: int


class RenewIn(BaseModel):
    """``pushsubscriptionchange``: the device's old endpoint and its new subscription."""

    model_config = ConfigDict(extra="forbid")

    old_endpoint: str = Field(max_length=2048)
    subscription: SubscriptionIn


class PreferencesIO(BaseModel):
    """What I want pushed: reminders and their lead time (5, 10, 15 or 30 minutes), change alerts, announcements."""

    model_config = ConfigDict(extra="forbid")

    reminders: bool
    lead_minutes: int = Field(description=f"one of {', '.join(map(str, LEAD_MINUTES))}")
    change_alerts: bool
    announcements: bool


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001


def _person_key() -> str:
    # Per person, not per address: a whole venue shares one address on its Wi-Fi.
    return f"user:{current_user.get_id()}"


def allow_local_endpoints() -> bool:
    """Accept http:// and private push endpoints (the local emulator) outside production."""
    setting = current_app.config.get("PUSH_ALLOW_LOCAL_ENDPOINTS")
    return current_app.config["ENV"] != "production" if setting is None else bool(setting)


def _checked(subscription: SubscriptionIn) -> tuple[str, str, str]:
    try:
        return services.check_subscription(subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth,
                                           allow_local=allow_local_endpoints())
    except services.PushInputError as exc:
        raise Problem(400, str(exc), errors=[{"loc": exc.loc, "msg": str(exc)}]) from exc


@bp.get("/key")
@api_spec.validate(resp=SpecResponse(HTTP_200=KeyOut, HTTP_503=None), tags=["push"])
def key() -> KeyOut:
    """The server's VAPID public key, for ``pushManager.subscribe({applicationServerKey})``."""
    try:
        keys = load_keys(current_app._get_current_object())  # noqa: SLF001
    except VapidError as exc:
        current_app.logger.error("push: %s", exc)
        keys = None
    if keys is None:
        raise Problem(503, "Notifications are not set up on this server yet.", title="Service Unavailable")
    return KeyOut(applicationServerKey=keys.public_key)


@bp.post("/subscriptions")
@signed_in_required
@limiter.limit("30 per hour", key_func=_person_key)
@api_spec.validate(json=SubscriptionIn, resp=SpecResponse(HTTP_201=SubscribedOut, HTTP_400=None, HTTP_401=None),
                   tags=["push"])
def subscribe(json: SubscriptionIn) -> tuple[SubscribedOut, int]:
    """Subscribe this device; subscribing it again updates it (several devices per person)."""
    endpoint, p256dh, auth = _checked(json)
    services.subscribe(_me(), endpoint, p256dh, auth, now=timeutil.now())
    devices = len(services.subscriptions_of(_me().id))
    db.session.commit()
    return SubscribedOut(subscribed=True, devices=devices), 201


@bp.delete("/subscriptions")
@signed_in_required
@api_spec.validate(resp=SpecResponse(HTTP_200=UnsubscribedOut, HTTP_400=None, HTTP_401=None), tags=["push"])
def unsubscribe() -> UnsubscribedOut:
    """Stop pushing to this device (idempotent). Body: ``{"endpoint": ...}``."""
    # spectree does not read bodies of DELETE requests: validated here, with the same answer shape.
    try:
        body = UnsubscribeIn.model_validate(request.get_json(silent=True))
    except ValidationError as exc:
        raise Problem(400, "The body must be JSON with the device's endpoint: {\"endpoint\": \"https://...\"}.",
                      errors=[{"loc": ".".join(map(str, e["loc"])) or "body", "msg": e["msg"]} for e in exc.errors()]) from exc
    removed = services.unsubscribe(_me(), body.endpoint)
    devices = len(services.subscriptions_of(_me().id))
    db.session.commit()
    return UnsubscribedOut(removed=removed, devices=devices)


@bp.post("/subscriptions/renew")
@csrf.exempt
# Per address, as there is no person: generous, since a venue's phones share one address, and
# tight enough that a flood cannot keep the database busy.
@limiter.limit("600 per hour")
@api_spec.validate(json=RenewIn, resp=SpecResponse(HTTP_200=SubscribedOut, HTTP_400=None, HTTP_404=None),
                   tags=["push"])
def renew(json: RenewIn) -> SubscribedOut:
    """The browser replaced a subscription: move the device's row to the new one (no sign-in needed)."""
    endpoint, p256dh, auth = _checked(json.subscription)
    renewed = services.replace_subscription(json.old_endpoint, endpoint, p256dh, auth)
    if renewed is None:
        raise Problem(404, "There is no subscription with that old endpoint: subscribe again from the "
                           "Notifications page.", errors=[{"loc": "old_endpoint", "msg": "unknown"}])
    devices = len(services.subscriptions_of(renewed.user_id))
    db.session.commit()
    return SubscribedOut(subscribed=True, devices=devices)


@bp.get("/preferences")
@signed_in_required
@api_spec.validate(resp=SpecResponse(HTTP_200=PreferencesIO, HTTP_401=None), tags=["push"])
def preferences() -> PreferencesIO:
    """What I want pushed."""
    chosen = services.preferences_of(_me())
    return PreferencesIO(**chosen.__dict__)


@bp.put("/preferences")
@signed_in_required
@api_spec.validate(json=PreferencesIO, resp=SpecResponse(HTTP_200=PreferencesIO, HTTP_400=None, HTTP_401=None),
                   tags=["push"])
def set_preferences(json: PreferencesIO) -> PreferencesIO:
    """Change what I want pushed (all four values)."""
    try:
        services.set_preferences(_me(), services.Preferences(**json.model_dump()), now=timeutil.now())
    except services.PushInputError as exc:
        raise Problem(400, str(exc), errors=[{"loc": exc.loc, "msg": str(exc)}]) from exc
    db.session.commit()
    return json
