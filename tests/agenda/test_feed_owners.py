"""Kept feed lookups: another web process (a FeedOwners of its own, reading the announcements on
a connection of its own: NOTIFY on PostgreSQL, the feed_announcement rows on SQLite) keeps a
token's lookup and forgets it when the database announces a change to that person's feed."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from companion.agenda import feed_owners, feeds, services
from companion.accounts.models import User
from companion.agenda.feed_owners import FeedOwners
from companion.agenda.models import FeedAnnouncement
from companion.extensions import db as _db
from companion.schedule.models import Session
from tests.accounts.factories import csrf_from, make_attendee, sign_in
from tests.factories import load_schedule

# Another process hears an announcement once the database has delivered it (PostgreSQL: within
# milliseconds; SQLite: at its next read); a test waits at most this long, so that a loaded machine
# cannot make it fail.
DELIVERY_DEADLINE_SECONDS = 5.0


class Counted:
    """feeds.find_feed, counting the lookups that reach the database."""

    def __init__(self) -> None:
        self.lookups = 0

    def __call__(self, token: str) -> feeds.FeedOwner | None:
        self.lookups += 1
        return feeds.find_feed(token)


class Ticks:
    """A monotonic clock the test moves by hand (KEEP_SECONDS, HEARTBEAT_SECONDS, RETRY_SECONDS)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def other_process(app, ticks) -> Iterator[tuple[FeedOwners, Counted]]:
    """A second web process's kept lookups (its own connection for the announcements), and its
    lookup counter."""
    counted = Counted()
    with app.app_context():
        owners = FeedOwners(_db.engine, lookup=counted, clock=ticks)
    yield owners, counted
    owners.close()


def _postgresql(db) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _person(db, clock, *keys: str):
    user = make_attendee().user
    for key in keys:
        services.star(user, db.scalars(select(Session).where(Session.source_key == key)).one(), now=clock.moment)
    token = services.calendar_feed(user, now=clock.moment).token
    db.commit()
    return user, token


def _eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + DELIVERY_DEADLINE_SECONDS
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _settled(owners: FeedOwners, counted: Counted, token: str) -> feeds.FeedOwner | None:
    """Look ``token`` up until a lookup is kept (announcements of the set-up may still arrive)."""
    found = owners.find(token)

    def kept() -> bool:
        nonlocal found
        before = counted.lookups
        found = owners.find(token)
        return counted.lookups == before

    assert _eventually(kept), "the lookup was never kept"
    return found


def test_a_token_is_looked_up_once_then_kept(app, db, clock, other_process):
    owners, counted = other_process
    load_schedule()
    user, token = _person(db, clock, "s-keynote")

    first = _settled(owners, counted, token)
    before = counted.lookups
    again = [owners.find(token) for _ in range(5)]

    assert (first.user_id, first.star_count) == (user.id, 1)
    assert again == [first] * 5
    assert counted.lookups == before


def test_a_made_up_token_is_looked_up_every_time(app, db, clock, other_process):
    owners, counted = other_process

    answers = [owners.find("A" * 43) for _ in range(3)]

    assert (answers, counted.lookups) == ([None, None, None], 3)


def test_someone_else_s_change_does_not_forget_my_lookup(app, db, clock, other_process):
    owners, counted = other_process
    load_schedule()
    _, mine = _person(db, clock, "s-keynote")
    other, theirs = _person(db, clock, "s-keynote")
    _settled(owners, counted, mine), _settled(owners, counted, theirs)

    services.star(other, db.scalars(select(Session).where(Session.source_key == "s-workshop")).one(), now=clock.moment)
    db.commit()
    assert _eventually(lambda: owners.find(theirs).star_count == 2)
    before = counted.lookups
    assert owners.find(mine).star_count == 1

    assert counted.lookups == before


def test_a_new_star_elsewhere_shows_in_the_next_lookups(app, db, clock, other_process):
    owners, counted = other_process
    load_schedule()
    user, token = _person(db, clock, "s-keynote")
    assert _settled(owners, counted, token).star_count == 1

    services.star(user, db.scalars(select(Session).where(Session.source_key == "s-workshop")).one(), now=clock.moment)
    db.commit()  # in "another process": only the database's announcement reaches `owners`

    assert _eventually(lambda: owners.find(token).star_count == 2)
    services.unstar(user, db.scalars(select(Session).where(Session.source_key == "s-keynote")).one())
    db.commit()
    assert _eventually(lambda: owners.find(token).star_count == 1)


def test_a_replaced_token_stops_in_the_other_process(app, db, clock, other_process):
    owners, counted = other_process
    load_schedule()
    user, old = _person(db, clock, "s-keynote")
    assert _settled(owners, counted, old).user_id == user.id

    new = services.regenerate_feed(user, now=clock.moment).token
    db.commit()

    assert _eventually(lambda: owners.find(old) is None)
    assert owners.find(new).user_id == user.id


class Silent:
    """Announcements that never arrive: what this process sees before the database delivers them."""

    def read(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


def test_a_replaced_token_stops_at_once_in_the_process_that_replaced_it(app, client, db, clock, monkeypatch):
    load_schedule()
    user, old = _person(db, clock, "s-keynote")
    counted = Counted()
    with app.app_context():
        owners = FeedOwners(_db.engine, lookup=counted)

    def open_silent_source() -> bool:
        owners._source, owners._source_pid = Silent(), os.getpid()  # noqa: SLF001
        return True

    monkeypatch.setattr(owners, "_open_source", open_silent_source)
    monkeypatch.setitem(app.extensions, "feed_owners", owners)
    assert [client.get(f"/ical/{old}.ics").status_code for _ in range(3)] == [200, 200, 200]
    assert counted.lookups == 1  # kept
    sign_in(client, user)
    page = client.get("/agenda/calendar")

    answer = client.post("/agenda/calendar/new-address", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    right_after = client.get(f"/ical/{old}.ics")

    assert answer.status_code == 303
    assert right_after.status_code == 404  # no announcement heard: this process forgot at its commit
    new = db.scalars(select(feeds.CalendarFeed.token).where(feeds.CalendarFeed.user_id == user.id)).one()
    assert new != old and client.get(f"/ical/{new}.ics").status_code == 200


def test_a_deleted_account_s_feed_stops_in_the_other_process(app, db, clock, other_process):
    owners, counted = other_process
    load_schedule()
    user, token = _person(db, clock, "s-keynote")
    _, kept = _person(db, clock, "s-keynote")
    assert _settled(owners, counted, token) is not None and _settled(owners, counted, kept) is not None

    db.execute(sa.delete(User).where(User.id == user.id))  # the feed and stars go by ON DELETE CASCADE
    db.commit()

    assert _eventually(lambda: owners.find(token) is None)
    before = counted.lookups
    assert owners.find(kept) is not None and counted.lookups == before  # someone else's stays kept


def test_announcements_the_process_cannot_follow_make_it_forget_everything(app, db, clock, other_process):
    owners, counted = other_process
    load_schedule()
    user, token = _person(db, clock, "s-keynote")
    assert _settled(owners, counted, token).star_count == 1
    before = counted.lookups

    if _postgresql(db):
        db.execute(sa.text("TRUNCATE favourite"))  # no row triggers: announced as everyone's change
        stars = 0
    else:  # more than the 1,000 rows kept arrive before this process reads them
        db.execute(sa.insert(FeedAnnouncement), [{"user_id": 10_000 + n} for n in range(1001)])
        stars = 1
    db.commit()

    assert _eventually(lambda: owners.find(token).star_count == stars and counted.lookups > before)


def _break(db, owners: FeedOwners) -> None:
    """Make the announcements unreadable, as a lost connection would."""
    connection = owners._source._connection  # noqa: SLF001
    if _postgresql(db):
        with _db.engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": connection.info.backend_pid})
            other.commit()
    else:
        connection.close()


def test_lost_announcements_mean_looking_up_until_they_can_be_read_again(app, db, clock, other_process, ticks,
                                                                              caplog):
    owners, counted = other_process
    load_schedule()
    user, token = _person(db, clock, "s-keynote")
    assert _settled(owners, counted, token).user_id == user.id
    broken = owners._source  # noqa: SLF001
    _break(db, owners)
    # While nobody can read them, a change is announced to nobody.
    services.star(user, db.scalars(select(Session).where(Session.source_key == "s-workshop")).one(), now=clock.moment)
    db.commit()

    before = counted.lookups
    with caplog.at_level(logging.WARNING, logger=feed_owners.__name__):
        assert _eventually(lambda: owners.find(token).star_count == 2)

    assert counted.lookups > before  # looked up again, not served what was kept
    assert "calendar feed announcements failed" in caplog.text
    assert owners._source is None  # noqa: SLF001 - dropped, with everything it kept
    looked_up = counted.lookups
    assert owners.find(token).star_count == 2 and owners._source is None  # noqa: SLF001 - not yet: RETRY_SECONDS
    assert counted.lookups == looked_up + 1
    ticks.now += feed_owners.RETRY_SECONDS
    assert owners.find(token).star_count == 2  # reads them again, on a new connection
    assert owners._source is not None and owners._source is not broken  # noqa: SLF001
    assert _settled(owners, counted, token).star_count == 2
    before = counted.lookups
    assert owners.find(token).star_count == 2 and counted.lookups == before  # kept again
