"""A person's hunt stamps in their data download (deleting the account deletes them: the foreign
key cascades)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from companion.accounts.models import User
from companion.extensions import db
from companion.hunt.models import Stamp, Station


def export_stamps(user: User) -> list[dict[str, Any]]:
    """Every stamp: the station, the day, when, how, and whether the booth may see the name."""
    rows = db.session.execute(select(Stamp, Station.name).join(Station).where(Stamp.user_id == user.id)
                              .order_by(Stamp.stamped_at, Stamp.id)).all()
    return [{"station": name, "day": stamp.day.isoformat(), "stamped_at": stamp.stamped_at.isoformat(),
             "method": stamp.method, "shared_contact_with_booth": stamp.share_contact} for stamp, name in rows]
