"""Raffle services and queries: create, the list, freeze, draw, mark, redraw, the audit trail, the push
to a winner, and what the screen and the attendee's card read."""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from companion.accounts.models import AuditEvent, User
from companion.hunt import services as hunt
from companion.push.models import PushMessage
from companion.raffle import queries, services
from companion.raffle.models import Raffle, RaffleEntry, RaffleListMember, RaffleWinner
from tests.accounts.factories import make_attendee, make_user
from tests.hunt.factories import DAY_ONE, DAY_TWO
from tests.push.factories import make_subscription
from tests.raffle.factories import (CREATED, DRAW_AT, FREEZE_AT, PARIS, hunt_station, make_completers,
                                    make_raffle)

ENTRY_CODE = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{2}$")


# --- Helpers: read back what was stored -----------------------------------------------------------


def _raffle(db, raffle: Raffle) -> Raffle:
    db.expire_all()
    return db.get(Raffle, raffle.id)


def _entries(db, raffle: Raffle) -> list[tuple[int | None, bool]]:
    """(user id, excluded) of every entry, by user id."""
    db.expire_all()
    return [(e.user_id, e.excluded) for e in db.scalars(
        select(RaffleEntry).where(RaffleEntry.raffle_id == raffle.id).order_by(RaffleEntry.user_id))]


def _winners(db, raffle: Raffle) -> list[tuple]:
    """(user id, entry code, k, drawn at, claim by, status, decided at) of every winner, by k."""
    db.expire_all()
    return [(w.entry.user_id, w.entry.entry_code, w.k, w.drawn_at, w.claim_by, w.status, w.decided_at)
            for w in db.scalars(select(RaffleWinner).where(RaffleWinner.raffle_id == raffle.id)
                                .order_by(RaffleWinner.k))]


def _events(db, raffle: Raffle) -> list[tuple[str, dict]]:
    db.expire_all()
    return [(e.action, e.details) for e in db.scalars(
        select(AuditEvent).where(AuditEvent.subject == raffle.code).order_by(AuditEvent.id))]


def _members(db, raffle: Raffle) -> list[int]:
    db.expire_all()
    return list(db.scalars(select(RaffleListMember.user_id).where(RaffleListMember.raffle_id == raffle.id)
                           .order_by(RaffleListMember.user_id)))


def _frozen(db, people: int, *, seed: int = 5, **fields: object) -> tuple[Raffle, list[User]]:
    """A day-one raffle frozen over ``people`` hunt completers (committed)."""
    users = make_completers(people, station=hunt_station(), prefix="fan")
    raffle = make_raffle(**fields)
    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(seed))
    db.commit()
    return raffle, users


def _drawn(db, people: int, **fields: object) -> tuple[Raffle, list[User], list[RaffleWinner]]:
    raffle, users = _frozen(db, people, **fields)
    winners = services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")
    db.commit()
    return raffle, users, winners


def _refusal(call) -> tuple[str, str | None, str]:  # noqa: ANN001 - a zero-argument callable
    with pytest.raises(services.RaffleError) as refused:
        call()
    return refused.value.reason, refused.value.loc, str(refused.value)


# --- create_raffle --------------------------------------------------------------------------------


def test_create_raffle_defaults_to_a_quarter_to_four_paris_time(db):
    staff = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    raffle = services.create_raffle(services.RaffleFields(title="  Daily raffle ", prize="A hoodie", day=DAY_ONE),
                                    actor=staff, now=CREATED, zone=PARIS, rng=random.Random(3))
    db.commit()

    stored = _raffle(db, raffle)
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{8}", stored.code) is not None
    assert (stored.title, stored.prize, stored.day, stored.draw_at, stored.claim_place, stored.winners_wanted,
            stored.eligibility, stored.exclude_past_winners, stored.claim_minutes, stored.screen_names,
            stored.created_at, stored.updated_at) == (
        "Daily raffle", "A hoodie", DAY_ONE, datetime(2026, 4, 7, 13, 45, tzinfo=UTC), "the raffle desk", 1,
        "hunt", True, 30, "first_initial", CREATED, CREATED)
    assert (stored.state, stored.frozen_at, stored.list_hash, stored.commitment, stored.seed, stored.drawn_at,
            stored.next_k) == ("open", None, None, None, None, None, None)
    assert _events(db, stored) == [("raffle.create", {"title": "Daily raffle", "prize": "A hoodie",
                                                      "day": "2026-04-07", "winners_wanted": 1,
                                                      "eligibility": "hunt"})]
    assert db.scalar(select(AuditEvent.actor_id)) == staff.id


def test_create_raffle_stores_a_winter_draw_time_in_utc(db):
    raffle = services.create_raffle(
        services.RaffleFields(title="Winter raffle", prize="A scarf", day=datetime(2026, 1, 20).date(),
                              draw_time=time(9, 30)), actor=None, now=CREATED, zone=PARIS, rng=random.Random(3))
    db.commit()

    assert _raffle(db, raffle).draw_at == datetime(2026, 1, 20, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(("fields", "loc", "message"), [
    ({"title": "   "}, "title", "The raffle needs a title of 1 to 200 characters."),
    ({"title": "x" * 201}, "title", "The raffle needs a title of 1 to 200 characters."),
    ({"prize": ""}, "prize", "The raffle needs a prize of 1 to 200 characters."),
    ({"claim_place": " "}, "claim_place", "The raffle needs a place to claim the prize of 1 to 200 characters."),
    ({"winners_wanted": 0}, "winners_wanted", "The number of winners is 1 to 100."),
    ({"winners_wanted": 101}, "winners_wanted", "The number of winners is 1 to 100."),
    ({"claim_minutes": 0}, "claim_minutes", "The claim window is 1 to 1,440 minutes."),
    ({"claim_minutes": 1441}, "claim_minutes", "The claim window is 1 to 1,440 minutes."),
    ({"eligibility": "everyone"}, "eligibility", "Eligibility is one of hunt, checked_in, list."),
    ({"screen_names": "full_name"}, "screen_names", "The screen shows one of first_initial, entry_only."),
])
def test_create_raffle_refuses_a_wrong_field_naming_it(db, fields, loc, message):
    values = {"title": "Daily raffle", "prize": "A hoodie", "day": DAY_ONE, **fields}

    assert _refusal(lambda: services.create_raffle(services.RaffleFields(**values), actor=None, now=CREATED,
                                                   zone=PARIS, rng=random.Random(3))) == ("field", loc, message)
    db.rollback()
    assert (db.scalars(select(Raffle)).all(), db.scalars(select(AuditEvent)).all()) == ([], [])


def test_update_raffle_after_the_freeze_is_refused(db, conference):
    raffle, _ = _frozen(db, 2)

    assert _refusal(lambda: services.update_raffle(
        raffle, services.RaffleFields(title="Renamed", prize="A hoodie", day=DAY_ONE), actor=None,
        now=DRAW_AT, zone=PARIS)) == (
        "frozen", None, "The entries are already frozen and published: this raffle can no longer change.")
    assert _raffle(db, raffle).title == "Daily raffle"


# --- set_list -------------------------------------------------------------------------------------


def test_set_list_takes_emails_and_registration_ids(db):
    ada = make_attendee(email="ada@example.org", registration_id="REG-ADA").user
    grace = make_attendee(email="grace@example.org", registration_id="REG-GRACE").user
    alan = make_attendee(email="alan@example.org", registration_id="REG-ALAN").user
    make_attendee(email="linus@example.org", registration_id="REG-LINUS")
    raffle = make_raffle(eligibility="list")

    people = services.set_list(raffle, ["# from the sponsor's scanner", "ADA@Example.org", "", '  "REG-GRACE" ',
                                        "alan@example.org  "], actor=None, now=DRAW_AT)
    db.commit()

    assert people == 3
    assert _members(db, raffle) == sorted([ada.id, grace.id, alan.id])
    assert _raffle(db, raffle).updated_at == DRAW_AT
    assert _events(db, raffle)[-1] == ("raffle.list", {"people": 3})


def test_set_list_replaces_the_previous_list(db):
    make_attendee(email="ada@example.org")
    grace = make_attendee(email="grace@example.org").user
    raffle = make_raffle(eligibility="list")
    services.set_list(raffle, ["ada@example.org"], actor=None, now=DRAW_AT)
    services.set_list(raffle, ["grace@example.org"], actor=None, now=DRAW_AT)
    db.commit()

    assert _members(db, raffle) == [grace.id]


def test_set_list_refuses_an_unknown_line_and_changes_nothing(db):
    ada = make_attendee(email="ada@example.org").user
    make_attendee(email="grace@example.org")
    raffle = make_raffle(eligibility="list")
    services.set_list(raffle, ["ada@example.org"], actor=None, now=CREATED)
    db.commit()

    assert _refusal(lambda: services.set_list(raffle, ["grace@example.org", "nobody@example.org", "REG-NONE"],
                                              actor=None, now=DRAW_AT)) == (
        "list", "line 2", "No attendee has this email address or registration id: line 2: nobody@example.org; "
                          "line 3: REG-NONE. Nothing was changed.")
    db.rollback()
    assert _members(db, raffle) == [ada.id]
    assert [action for action, _ in _events(db, raffle)] == ["raffle.create", "raffle.list"]


def test_set_list_refuses_a_staff_account(db):
    make_attendee(email="ada@example.org")
    make_attendee(email="sam@example.org", role="staff")
    raffle = make_raffle(eligibility="list")

    assert _refusal(lambda: services.set_list(raffle, ["ada@example.org", "sam@example.org"], actor=None,
                                              now=DRAW_AT)) == (
        "list", "line 2", "Line 2: sam@example.org is a staff or booth account, who cannot enter raffles. "
                          "Nothing was changed.")
    db.rollback()
    assert _members(db, raffle) == []


def test_set_list_refuses_a_line_given_twice(db):
    make_attendee(email="ada@example.org")
    make_attendee(email="grace@example.org")
    raffle = make_raffle(eligibility="list")

    assert _refusal(lambda: services.set_list(raffle, ["ada@example.org", "grace@example.org", "Ada@example.ORG"],
                                              actor=None, now=DRAW_AT)) == (
        "list", "line 3", "Line 3: Ada@example.ORG is also on line 1.")
    assert _members(db, raffle) == []


def test_set_list_refuses_one_person_by_email_and_registration_id(db):
    make_attendee(email="ada@example.org", registration_id="REG-ADA")
    raffle = make_raffle(eligibility="list")

    assert _refusal(lambda: services.set_list(raffle, ["ada@example.org", "REG-ADA"], actor=None, now=DRAW_AT)) == (
        "list", "file", "The list names the same attendee twice (by email and by registration id).")
    assert _members(db, raffle) == []


def test_set_list_refuses_an_empty_list(db):
    raffle = make_raffle(eligibility="list")

    assert _refusal(lambda: services.set_list(raffle, ["# nothing yet", "  "], actor=None, now=DRAW_AT)) == (
        "list", "file", "The list is empty: one email address or registration id per line.")


def test_set_list_refuses_a_malformed_address_naming_the_line(db):
    make_attendee(email="ada@example.org")
    raffle = make_raffle(eligibility="list")

    with pytest.raises(services.RaffleError) as refused:
        services.set_list(raffle, ["ada@example.org", "grace@"], actor=None, now=DRAW_AT)
    assert (refused.value.reason, refused.value.loc, str(refused.value)) == (
        "list", "line 2", "Line 2: grace@ is not a valid email address. Nothing was changed.")


def test_set_list_after_the_freeze_is_refused(db, conference):
    make_attendee(email="ada@example.org")
    raffle = make_raffle(eligibility="list")
    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(1))
    db.commit()

    assert _refusal(lambda: services.set_list(raffle, ["ada@example.org"], actor=None, now=DRAW_AT))[0] == "frozen"
    assert _members(db, raffle) == []


# --- freeze ---------------------------------------------------------------------------------------


def test_freeze_enters_the_days_completers_only(db, conference):
    station = hunt_station(DAY_ONE)
    day_one = make_completers(3, station=station, prefix="fan")
    make_completers(2, station=hunt_station(DAY_TWO), day=DAY_TWO, prefix="later")
    make_attendee(email="nostamp@example.org")
    for role in ("staff", "booth", "admin"):
        worker = make_attendee(email=f"{role}@example.org", role=role).user
        hunt.record_stamp(worker, station, now=datetime(2026, 4, 7, 9, 0, tzinfo=UTC), zone=PARIS, method="code")
    db.commit()
    raffle = make_raffle()

    count = services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(1))
    db.commit()

    stored = _raffle(db, raffle)
    codes = [e.entry_code for e in queries.entries(stored)]
    assert count == 3
    assert _entries(db, raffle) == [(user.id, False) for user in day_one]
    assert [bool(ENTRY_CODE.match(code)) for code in codes] == [True, True, True]
    assert codes == sorted(set(codes))
    assert (stored.state, stored.frozen_at, stored.updated_at, stored.drawn_at, stored.next_k) == (
        "frozen", FREEZE_AT, FREEZE_AT, None, None)
    assert stored.list_hash == hashlib.sha256("\n".join(codes).encode()).hexdigest()
    assert stored.commitment == hashlib.sha256(bytes.fromhex(stored.seed)).hexdigest()
    assert len(bytes.fromhex(stored.seed)) == 32
    assert _events(db, raffle)[-1] == ("raffle.freeze", {"entries": 3, "excluded": 0, "list_hash": stored.list_hash,
                                                         "commitment": stored.commitment})


def test_freeze_by_check_in_counts_the_day_until_four_in_the_morning(db, conference):
    moments = {"before": datetime(2026, 4, 6, 10, 0, tzinfo=UTC), "morning": datetime(2026, 4, 7, 8, 0, tzinfo=UTC),
               "night": datetime(2026, 4, 8, 1, 59, tzinfo=UTC),  # 03:59 in Paris: still day one
               "next": datetime(2026, 4, 8, 2, 0, tzinfo=UTC), "never": None}
    people = {}
    for label, moment in moments.items():
        attendee = make_attendee(email=f"{label}@example.org")
        attendee.checked_in_at = moment
        people[label] = attendee.user_id
    staff = make_attendee(email="sam@example.org", role="staff")
    staff.checked_in_at = moments["morning"]
    db.commit()
    raffle = make_raffle(eligibility="checked_in")

    assert queries.eligible_count(raffle, zone=PARIS) == 3
    assert services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(1)) == 3
    db.commit()
    assert _entries(db, raffle) == [(people[label], False) for label in ("before", "morning", "night")]


def test_freeze_by_list_enters_the_listed_people(db, conference):
    ada = make_attendee(email="ada@example.org").user
    make_attendee(email="grace@example.org")
    alan = make_attendee(email="alan@example.org", registration_id="REG-ALAN").user
    raffle = make_raffle(eligibility="list")
    services.set_list(raffle, ["ada@example.org", "REG-ALAN"], actor=None, now=CREATED)
    db.commit()

    assert services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(1)) == 2
    db.commit()
    assert _entries(db, raffle) == [(ada.id, False), (alan.id, False)]


def test_freeze_twice_is_refused_and_keeps_the_first(db, conference):
    raffle, _ = _frozen(db, 3)
    first = _raffle(db, raffle)
    published = (first.list_hash, first.commitment, first.seed, [e.entry_code for e in queries.entries(first)])
    make_completers(2, station=hunt_station(DAY_ONE), prefix="late")

    assert _refusal(lambda: services.freeze(raffle, actor=None, now=DRAW_AT, zone=PARIS,
                                            rng=random.Random(2))) == (
        "frozen", None, "The entries are already frozen and published: this raffle can no longer change.")
    db.rollback()
    again = _raffle(db, raffle)
    assert (again.list_hash, again.commitment, again.seed, [e.entry_code for e in queries.entries(again)]) == published
    assert again.frozen_at == FREEZE_AT
    assert [action for action, _ in _events(db, raffle)] == ["raffle.create", "raffle.freeze"]


def _earlier_winners(db) -> tuple[list[User], dict[str, int]]:
    """Ten day-one completers, and a morning raffle that made three of them winners: one claimed,
    one not claimed, one still pending. :return: the people and {status: user id}."""
    users = make_completers(10, station=hunt_station(), prefix="fan")
    earlier = make_raffle("Morning raffle", winners_wanted=3)
    morning = DRAW_AT - timedelta(hours=4)
    services.freeze(earlier, actor=None, now=morning - timedelta(minutes=15), zone=PARIS, rng=random.Random(8))
    claimed, lost, pending = services.draw(earlier, actor=None, now=morning, zone=PARIS, card_url="/hunt")
    services.mark(claimed, "claimed", actor=None, now=morning + timedelta(minutes=5), zone=PARIS)
    services.mark(lost, "not_claimed", actor=None, now=lost.claim_by, zone=PARIS)
    db.commit()
    return users, {"claimed": claimed.entry.user_id, "not_claimed": lost.entry.user_id,
                   "drawn": pending.entry.user_id}


def test_freeze_excludes_earlier_winners_who_hold_a_prize(db, conference):
    users, past = _earlier_winners(db)
    raffle = make_raffle("Afternoon raffle", winners_wanted=10)

    assert services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(9)) == 10
    db.commit()

    holding = {past["claimed"], past["drawn"]}
    assert _entries(db, raffle) == [(user.id, user.id in holding) for user in users]
    assert _events(db, raffle)[-1][1]["excluded"] == 2
    assert queries.proof(_raffle(db, raffle))["excluded"] == sorted(
        e.entry_code for e in queries.entries(raffle) if e.user_id in holding)
    assert _refusal(lambda: services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")) == (
        "confirm", None, "Only 8 entries can win, and 10 winners are wanted. Confirm to draw 8.")
    winners = services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt", confirm_small=True)
    db.commit()
    assert sorted(w.entry.user_id for w in winners) == sorted(user.id for user in users if user.id not in holding)
    assert past["not_claimed"] in {w.entry.user_id for w in winners}


def test_freeze_keeps_earlier_winners_when_not_excluding(db, conference):
    users, _ = _earlier_winners(db)
    raffle = make_raffle("Afternoon raffle", exclude_past_winners=False)

    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(9))
    db.commit()

    assert _entries(db, raffle) == [(user.id, False) for user in users]
    assert queries.proof(_raffle(db, raffle))["excluded"] == []


# --- draw -----------------------------------------------------------------------------------------


def test_draw_before_the_freeze_is_refused(db, conference):
    make_completers(2, station=hunt_station(), prefix="fan")
    raffle = make_raffle()

    assert _refusal(lambda: services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")) == (
        "not_frozen", None, "Freeze the entries first: the list and the commitment must be published before the draw.")
    stored = _raffle(db, raffle)
    assert (stored.state, stored.drawn_at, _winners(db, raffle)) == ("open", None, [])


def test_draw_gives_each_winner_the_claim_window(db, conference):
    raffle, users, winners = _drawn(db, 5, winners_wanted=2, claim_minutes=20)

    stored = _raffle(db, raffle)
    rows = _winners(db, raffle)
    claim_by = DRAW_AT + timedelta(minutes=20)
    assert [(r[3], r[4], r[5], r[6]) for r in rows] == [(DRAW_AT, claim_by, "drawn", None)] * 2
    assert [(w.k, w.entry.entry_code) for w in winners] == [(r[2], r[1]) for r in rows]
    assert rows[0][2] < rows[1][2] and rows[0][0] != rows[1][0]
    assert {r[0] for r in rows} <= {user.id for user in users}
    assert (stored.state, stored.drawn_at, stored.next_k) == ("drawn", DRAW_AT, rows[1][2] + 1)
    assert _events(db, raffle)[-1] == ("raffle.draw", {
        "seed": stored.seed, "winners": [{"k": r[2], "entry": r[1]} for r in rows], "confirmed_small_pool": False})


def test_draw_twice_is_refused_and_keeps_the_winners(db, conference):
    raffle, _, _ = _drawn(db, 5, winners_wanted=2)
    before = _winners(db, raffle)

    assert _refusal(lambda: services.draw(_raffle(db, raffle), actor=None, now=DRAW_AT + timedelta(minutes=1),
                                          zone=PARIS, card_url="/hunt")) == (
        "drawn", None, "This raffle has been drawn already. Use redraw for a prize nobody claimed.")
    db.rollback()
    assert (_winners(db, raffle), _raffle(db, raffle).drawn_at) == (before, DRAW_AT)


def test_draw_of_an_empty_pool_is_refused(db, conference):
    raffle, _ = _frozen(db, 0)

    assert _raffle(db, raffle).list_hash == hashlib.sha256(b"").hexdigest()
    assert _refusal(lambda: services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")) == (
        "empty", None, "No entry can win: the raffle has 0 entries. Nothing was drawn.")
    assert (_raffle(db, raffle).drawn_at, _winners(db, raffle)) == (None, [])


def test_draw_when_every_entry_won_before_is_refused(db, conference):
    make_completers(2, station=hunt_station(), prefix="fan")
    earlier = make_raffle("Morning raffle", winners_wanted=2)
    services.freeze(earlier, actor=None, now=FREEZE_AT - timedelta(hours=4), zone=PARIS, rng=random.Random(1))
    services.draw(earlier, actor=None, now=DRAW_AT - timedelta(hours=4), zone=PARIS, card_url="/hunt")
    raffle = make_raffle("Afternoon raffle")
    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(2))
    db.commit()

    assert _refusal(lambda: services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")) == (
        "empty", None, "No entry can win: the raffle has 2 entries, all 2 of them earlier winners. Nothing was drawn.")
    assert (_raffle(db, raffle).drawn_at, _winners(db, raffle)) == (None, [])


def test_draw_of_a_small_pool_asks_to_confirm_then_draws_what_it_can(db, conference):
    raffle, users = _frozen(db, 2, winners_wanted=3)

    assert _refusal(lambda: services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")) == (
        "confirm", None, "Only 2 entries can win, and 3 winners are wanted. Confirm to draw 2.")
    db.rollback()
    assert (_raffle(db, raffle).drawn_at, _winners(db, raffle)) == (None, [])
    assert [action for action, _ in _events(db, raffle)] == ["raffle.create", "raffle.freeze"]

    winners = services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt", confirm_small=True)
    db.commit()
    rows = _winners(db, raffle)
    assert (len(winners), sorted(r[0] for r in rows)) == (2, sorted(user.id for user in users))
    assert (_raffle(db, raffle).next_k, _events(db, raffle)[-1][1]["confirmed_small_pool"]) == (rows[-1][2] + 1, True)


def test_draw_of_one_entry_says_entry(db, conference):
    raffle, _ = _frozen(db, 1, winners_wanted=2)

    assert _refusal(lambda: services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt"))[2] == (
        "Only 1 entry can win, and 2 winners are wanted. Confirm to draw 1.")


# --- mark -----------------------------------------------------------------------------------------


def test_mark_not_claimed_before_the_window_ends_is_refused(db, conference):
    raffle, _, [winner] = _drawn(db, 3)
    code = winner.entry.entry_code

    assert _refusal(lambda: services.mark(winner, "not_claimed", actor=None,
                                          now=DRAW_AT + timedelta(minutes=29, seconds=59), zone=PARIS)) == (
        "window_open", None, f"{code} can claim until 16:15: wait until then before marking the prize not claimed.")
    assert [r[5:] for r in _winners(db, raffle)] == [("drawn", None)]


def test_mark_not_claimed_once_the_window_ends(db, conference):
    raffle, _, [winner] = _drawn(db, 3)
    ended = DRAW_AT + timedelta(minutes=30)

    services.mark(winner, "not_claimed", actor=None, now=ended, zone=PARIS)
    db.commit()

    assert [r[5:] for r in _winners(db, raffle)] == [("not_claimed", ended)]
    assert _events(db, raffle)[-1] == ("raffle.not_claimed", {"entry": winner.entry.entry_code, "k": winner.k})


def test_mark_claimed_late_is_accepted(db, conference):
    raffle, _, [winner] = _drawn(db, 3)
    late = DRAW_AT + timedelta(hours=2)

    services.mark(winner, "claimed", actor=None, now=late, zone=PARIS)
    db.commit()

    assert [r[5:] for r in _winners(db, raffle)] == [("claimed", late)]
    assert _events(db, raffle)[-1] == ("raffle.claimed", {"entry": winner.entry.entry_code, "k": winner.k})


def test_mark_twice_is_refused(db, conference):
    raffle, _, [winner] = _drawn(db, 3)
    first = DRAW_AT + timedelta(minutes=5)
    services.mark(winner, "claimed", actor=None, now=first, zone=PARIS)
    db.commit()

    assert _refusal(lambda: services.mark(winner, "not_claimed", actor=None, now=DRAW_AT + timedelta(hours=1),
                                          zone=PARIS)) == (
        "decided", None, f"{winner.entry.entry_code} is already marked claimed.")
    db.rollback()
    assert [r[5:] for r in _winners(db, raffle)] == [("claimed", first)]
    assert [action for action, _ in _events(db, raffle)][-1:] == ["raffle.claimed"]


def test_mark_an_unknown_status_is_refused(db, conference):
    raffle, _, [winner] = _drawn(db, 3)

    assert _refusal(lambda: services.mark(winner, "lost", actor=None, now=DRAW_AT, zone=PARIS)) == (
        "status", "status", "Mark a winner claimed or not_claimed.")
    assert [r[5:] for r in _winners(db, raffle)] == [("drawn", None)]


# --- redraw ---------------------------------------------------------------------------------------


def test_redraw_continues_the_sequence_for_the_unclaimed_prize(db, conference):
    raffle, users, (lost, kept) = _drawn(db, 6, winners_wanted=2)
    next_k = _raffle(db, raffle).next_k
    services.mark(lost, "not_claimed", actor=None, now=lost.claim_by, zone=PARIS)
    services.mark(kept, "claimed", actor=None, now=DRAW_AT + timedelta(minutes=3), zone=PARIS)
    db.commit()
    before = _winners(db, raffle)
    again = DRAW_AT + timedelta(minutes=32)

    [new] = services.redraw(raffle, actor=None, now=again, zone=PARIS, card_url="/hunt")
    db.commit()

    rows = _winners(db, raffle)
    assert rows[:2] == before
    assert rows[2][2:] == (new.k, again, again + timedelta(minutes=30), "drawn", None)
    assert new.k >= next_k > max(r[2] for r in before)
    assert rows[2][0] in {user.id for user in users} - {r[0] for r in before}
    assert _raffle(db, raffle).next_k == new.k + 1
    assert _events(db, raffle)[-1] == ("raffle.redraw", {"winners": [{"k": new.k, "entry": rows[2][1]}]})


def test_redraw_before_the_draw_is_refused(db, conference):
    raffle, _ = _frozen(db, 3)

    assert _refusal(lambda: services.redraw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")) == (
        "not_drawn", None, "Draw the raffle first.")


def test_redraw_with_every_prize_held_is_refused(db, conference):
    raffle, _, [winner] = _drawn(db, 3)
    services.mark(winner, "claimed", actor=None, now=DRAW_AT, zone=PARIS)
    db.commit()
    before = (_winners(db, raffle), _raffle(db, raffle).next_k)

    assert _refusal(lambda: services.redraw(raffle, actor=None, now=DRAW_AT + timedelta(hours=1), zone=PARIS,
                                            card_url="/hunt")) == (
        "no_place", None, "Every prize has a winner. Mark a winner not claimed (after their window) to draw again.")
    assert (_winners(db, raffle), _raffle(db, raffle).next_k) == before


def test_redraw_of_an_exhausted_pool_is_refused(db, conference):
    raffle, _, (lost, _) = _drawn(db, 2, winners_wanted=2)
    services.mark(lost, "not_claimed", actor=None, now=lost.claim_by, zone=PARIS)
    db.commit()
    before = (_winners(db, raffle), _raffle(db, raffle).next_k)

    assert _refusal(lambda: services.redraw(raffle, actor=None, now=lost.claim_by, zone=PARIS,
                                            card_url="/hunt")) == (
        "exhausted", None, "Every entry that can win has been drawn: there is nobody left to draw.")
    db.rollback()
    assert (_winners(db, raffle), _raffle(db, raffle).next_k) == before


# --- The audit trail and the push to a winner -----------------------------------------------------


def test_audit_trail_lists_every_step_with_who_did_it(db, conference):
    sam = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    rita = make_user(email="rita@example.org", name="Rita Desk", role="staff")
    make_completers(4, station=hunt_station(), prefix="fan")
    raffle = services.create_raffle(services.RaffleFields(title="Daily raffle", prize="A hoodie", day=DAY_ONE),
                                    actor=sam, now=CREATED, zone=PARIS, rng=random.Random(4))
    make_raffle("Another raffle")
    services.update_raffle(raffle, services.RaffleFields(title="Daily raffle", prize="A hoodie", day=DAY_ONE,
                                                         claim_minutes=15), actor=sam,
                           now=CREATED + timedelta(hours=1), zone=PARIS)
    services.freeze(raffle, actor=sam, now=FREEZE_AT, zone=PARIS, rng=random.Random(5))
    [winner] = services.draw(raffle, actor=sam, now=DRAW_AT, zone=PARIS, card_url="/hunt")
    services.mark(winner, "not_claimed", actor=rita, now=winner.claim_by, zone=PARIS)
    [again] = services.redraw(raffle, actor=rita, now=winner.claim_by, zone=PARIS, card_url="/hunt")
    services.mark(again, "claimed", actor=None, now=again.claim_by, zone=PARIS)
    db.commit()

    trail = queries.audit_trail(_raffle(db, raffle))
    ended = DRAW_AT + timedelta(minutes=15)
    assert [(event.action, name, event.at) for event, name in trail] == [
        ("raffle.create", "Sam Staff", CREATED),
        ("raffle.update", "Sam Staff", CREATED + timedelta(hours=1)),
        ("raffle.freeze", "Sam Staff", FREEZE_AT),
        ("raffle.draw", "Sam Staff", DRAW_AT),
        ("raffle.not_claimed", "Rita Desk", ended),
        ("raffle.redraw", "Rita Desk", ended),
        ("raffle.claimed", None, ended + timedelta(minutes=15)),
    ]
    assert trail[1][0].details == {"changed": {"claim_minutes": 15}}


def test_draw_queues_a_push_to_the_winners_devices(db, conference):
    [winner_user] = make_completers(1, station=hunt_station(), prefix="fan")
    phone, laptop = make_subscription(winner_user), make_subscription(winner_user)
    make_subscription(make_attendee(email="bystander@example.org").user)
    raffle = make_raffle()
    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(1))

    [winner] = services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt/card")
    db.commit()

    key = f"raffle:{raffle.code}:{winner.k}"
    messages = db.scalars(select(PushMessage).order_by(PushMessage.subscription_id)).all()
    assert [(m.subscription_id, m.user_id, m.kind, m.dedupe_key, m.urgency, m.status, m.due_at, m.expires_at)
            for m in messages] == [
        (device.id, winner_user.id, "notice", key, "high", "pending", DRAW_AT, DRAW_AT + timedelta(minutes=30))
        for device in sorted([phone, laptop], key=lambda d: d.id)]
    assert [json.loads(m.payload) for m in messages] == [{
        "title": "You won: A PyTorch hoodie",
        "body": f"Daily raffle. Your entry {winner.entry.entry_code}: claim your prize at the raffle desk in the "
                "expo hall by 16:15.",
        "url": "/hunt/card", "tag": key}] * 2


def test_redraw_pushes_the_new_winner_under_its_own_key(db, conference):
    people = make_completers(2, station=hunt_station(), prefix="fan")
    for person in people:
        make_subscription(person)
    raffle = make_raffle()
    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(1))
    [first] = services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")
    services.mark(first, "not_claimed", actor=None, now=first.claim_by, zone=PARIS)
    [second] = services.redraw(raffle, actor=None, now=first.claim_by, zone=PARIS, card_url="/hunt")
    db.commit()

    assert [(m.user_id, m.dedupe_key) for m in db.scalars(select(PushMessage).order_by(PushMessage.id))] == [
        (first.entry.user_id, f"raffle:{raffle.code}:{first.k}"),
        (second.entry.user_id, f"raffle:{raffle.code}:{second.k}")]
    assert first.entry.user_id != second.entry.user_id


# --- What the screen and the card read ------------------------------------------------------------


@pytest.mark.parametrize(("name", "mode", "shown"), [
    ("Ada Lovelace", "first_initial", "Ada L."),
    ("Ada King Lovelace", "first_initial", "Ada L."),
    ("ada lovelace", "first_initial", "ada L."),
    ("Plato", "first_initial", "Plato"),
    ("Ada Lovelace", "entry_only", None),
    (None, "first_initial", None),
    ("", "first_initial", None),
])
def test_screen_name_shows_first_name_and_initial(name, mode, shown):
    assert queries.screen_name(name, mode) == shown


def test_winners_query_names_the_winners_in_k_order(db, conference):
    raffle, users, winners = _drawn(db, 4, winners_wanted=2)
    names = {user.id: user.name for user in users}

    assert [(w.id, w.k, w.entry, w.status, w.drawn_at, w.claim_by, w.decided_at, w.name)
            for w in queries.winners(raffle)] == [
        (w.id, w.k, w.entry.entry_code, "drawn", DRAW_AT, DRAW_AT + timedelta(minutes=30), None,
         names[w.entry.user_id]) for w in winners]


def test_my_entries_lists_the_days_raffles_with_the_win(db, conference):
    [me, *others] = make_completers(3, station=hunt_station(DAY_ONE), prefix="fan")
    hunt.record_stamp(me, hunt_station(DAY_TWO), now=datetime(2026, 4, 8, 9, 0, tzinfo=UTC), zone=PARIS,
                      method="code")
    afternoon = make_raffle("Afternoon raffle", winners_wanted=3)
    noon = make_raffle("Noon raffle", draw_time=time(12, 0))
    make_raffle("Evening raffle", draw_time=time(18, 0))  # never frozen: nobody has an entry
    tomorrow = make_raffle("Tomorrow's raffle", day=DAY_TWO)
    services.freeze(afternoon, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(1))
    won = {w.entry.user_id: w for w in services.draw(afternoon, actor=None, now=DRAW_AT, zone=PARIS,
                                                     card_url="/hunt")}
    services.freeze(noon, actor=None, now=DRAW_AT + timedelta(minutes=1), zone=PARIS, rng=random.Random(2))
    services.freeze(tomorrow, actor=None, now=FREEZE_AT + timedelta(days=1), zone=PARIS, rng=random.Random(3))
    db.commit()
    code_of = {(e.raffle_id, e.user_id): e.entry_code for e in db.scalars(select(RaffleEntry))}

    mine = queries.my_entries(me.id, DAY_ONE)

    assert [(e.raffle.code, e.entry_code, e.excluded, e.won.id if e.won else None) for e in mine] == [
        (noon.code, code_of[(noon.id, me.id)], True, None),
        (afternoon.code, code_of[(afternoon.id, me.id)], False, won[me.id].id),
    ]
    assert [(e.raffle.code, e.entry_code, e.excluded, e.won) for e in queries.my_entries(me.id, DAY_TWO)] == [
        (tomorrow.code, code_of[(tomorrow.id, me.id)], True, None)]  # a win on day one counts on day two too
    assert queries.my_entries(others[0].id, DAY_TWO) == []


class _RepeatingRandom(random.Random):
    """Random bytes that start with the same four bytes twice, then come from a seeded generator."""

    def __init__(self) -> None:
        super().__init__(5)
        self.first = True

    def randbytes(self, n: int) -> bytes:
        if self.first:
            self.first = False
            return (b"\x00\x00\x00\x07" * 2 + super().randbytes(n))[:n]
        return super().randbytes(n)


def test_entry_codes_are_distinct_even_when_the_random_bytes_repeat():
    codes = services.entry_codes(_RepeatingRandom(), 5)

    assert len(codes) == 5 == len(set(codes))
    assert codes[0] == "HAAA-AA"  # 7 in base 31, least significant character first: "H" then zeros
    assert all(re.fullmatch(r"[A-HJ-KMNP-Z2-9]{4}-[A-HJ-KMNP-Z2-9]{2}", c) for c in codes)


def test_entry_codes_reject_the_uneven_top_of_the_four_byte_range():
    class Top(random.Random):
        def randbytes(self, n: int) -> bytes:
            # 0xFFFFFFFF is above the last whole multiple of 31**6 below 2**32: rejected, then 1 is used.
            return (b"\xff\xff\xff\xff" + (1).to_bytes(4, "big")) * (n // 8) + b"\x00" * (n % 8)

    assert services.entry_codes(Top(), 1) == ["BAAA-AA"]
