"""The demo's hunt: six sponsor stations on both days (one required), a booth account, and a
morning of stamps (Ada has two; a few people already completed today's card)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select

from companion.accounts import services as accounts
from companion.accounts.models import Attendee, User
from companion.extensions import db
from companion.hunt import services
from companion.hunt.models import Station
from companion.schedule.days import conference_day, day_bounds

DEMO_BOOTH_EMAIL = "booth@acme.example"
DEMO_BOOTH_PASSWORD = "demo-booth-password"
SPONSORS = [
    ("PyTorch Foundation", "Expo hall, entrance", True),
    ("Acme AI", "Expo hall, booth B12", False),
    ("Tensor Cloud", "Expo hall, booth B14", False),
    ("GPU Works", "Expo hall, booth C3", False),
    ("Graph Labs", "Pier 2, lounge", False),
    ("Open Models Co", "Expo hall, booth C7", False),
]


def load_demo_hunt(days: list[date], *, now: datetime, zone, rng: random.Random, staff: User) -> str:  # noqa: ANN001
    """Stations, the rule (4 stamps including the required one), a booth account for Acme AI, and
    stamps: Ada's two, and eight people who completed today. :return: a summary line."""
    if db.session.scalar(select(Station.id).limit(1)) is not None:
        return "The database already holds hunt stations; keeping them."
    stations = [services.add_station(name, days=days, location=where, required=required, now=now, rng=rng,
                                     description=f"Visit {name} and scan the code on their screen.")
                for name, where, required in SPONSORS]
    services.set_stamps_needed(4, now=now)
    booth = accounts.create_user(DEMO_BOOTH_EMAIL, "Bo Booth (Acme AI)", now=now)
    accounts.set_role(booth, "booth", booth_code=stations[1].code, actor=staff, now=now)
    accounts.set_password(booth, DEMO_BOOTH_PASSWORD)
    attendees = list(db.session.scalars(select(Attendee).order_by(Attendee.id)))
    ada, others = attendees[0], attendees[1:]
    today = conference_day(now, zone)
    opened = day_bounds(today, zone)[0]  # stamps "earlier today" never fall before the day began

    def earlier(minutes: int) -> datetime:
        return max(now - timedelta(minutes=minutes), opened)

    stamped = 0
    if today in days:
        for station, minutes in ((stations[0], 95), (stations[1], 40)):
            services.record_stamp(ada.user, station, now=earlier(minutes), zone=zone, method="code")
            stamped += 1
        for person in rng.sample(others, k=min(8, len(others))):
            for station in [stations[0], *rng.sample(stations[1:], k=3)]:
                services.record_stamp(person.user, station, now=earlier(rng.randint(5, 180)),
                                      zone=zone, method=rng.choice(["code", "badge"]),
                                      by=booth if station is stations[1] else None,
                                      share_contact=rng.random() < 0.5)
                stamped += 1
    return (f"{len(stations)} hunt stations, {stamped} stamps; booth account {DEMO_BOOTH_EMAIL} / "
            f"{DEMO_BOOTH_PASSWORD} (Acme AI)")
