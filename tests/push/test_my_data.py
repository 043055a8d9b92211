"""Push data in the person's data download, and gone with the account."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from companion.push import services
from companion.push.models import PushMessage, PushPreferences, PushSubscription
from tests.accounts.factories import csrf_from, make_attendee, sign_in
from tests.push.factories import make_subscription


def test_download_has_devices_preferences_and_messages_and_deletion_removes_them(client, db, clock):
    me = make_attendee(email="ada@example.org").user
    other = make_attendee().user
    make_subscription(me, "https://fcm.googleapis.com/fcm/send/mine", now=clock() - timedelta(hours=1))
    make_subscription(other)
    services.set_preferences(me, services.Preferences(lead_minutes=5, announcements=False), now=clock())
    services.notify([me.id, other.id], title="You won", body="Prize desk", url="/", dedupe_key="raffle:1", now=clock())
    db.commit()
    sign_in(client, me)

    data = json.loads(client.get("/me/data.json").get_data(as_text=True))["notifications"]

    assert data == {
        "devices": [{"push_service": "fcm.googleapis.com", "subscribed_at": "2026-04-07T08:00:00+00:00",
                     "last_sent_at": None}],
        "preferences": {"reminders": True, "lead_minutes": 5, "change_alerts": True, "announcements": False},
        "messages": [{"kind": "notice", "title": "You won", "status": "pending", "created_at": "2026-04-07T09:00:00+00:00"}],
    }
    assert "/fcm/send/mine" not in json.dumps(data)

    csrf = csrf_from(client.get("/me/delete").get_data(as_text=True))
    deleted = client.post("/me/delete", data={"csrf_token": csrf, "confirm_email": "ada@example.org"})
    assert deleted.status_code == 200
    db.expire_all()
    assert db.scalars(select(PushSubscription.user_id)).all() == [other.id]
    assert db.scalars(select(PushMessage.user_id)).all() == [other.id]
    assert db.scalar(select(func.count()).select_from(PushPreferences)) == 0
