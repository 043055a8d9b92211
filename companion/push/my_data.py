"""A person's push data in their data download. Deleting the account deletes it with them (foreign
keys cascade: devices, preferences and the messages addressed to them)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from companion.accounts.models import User
from companion.extensions import db
from companion.push.models import PushMessage, PushSubscription
from companion.push.services import preferences_of

MESSAGES_IN_DOWNLOAD = 200


def export_push(user: User) -> dict[str, Any]:
    """Devices (push service and dates; not the endpoint, a secret that would let anyone push to
    the phone), preferences, and the latest messages addressed to the person."""
    devices = db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id)
                                 .order_by(PushSubscription.id)).all()
    messages = db.session.scalars(select(PushMessage).where(PushMessage.user_id == user.id)
                                  .order_by(PushMessage.created_at.desc(), PushMessage.id.desc())
                                  .limit(MESSAGES_IN_DOWNLOAD)).all()
    return {
        "devices": [{"push_service": d.service_host, "subscribed_at": d.created_at.isoformat(),
                     "last_sent_at": d.last_sent_at.isoformat() if d.last_sent_at else None} for d in devices],
        "preferences": preferences_of(user).__dict__,
        "messages": [{"kind": m.kind, "title": json.loads(m.payload).get("title"), "status": m.status,
                      "created_at": m.created_at.isoformat()} for m in messages],
    }
