"""Planning rules on hand-made sessions: overlaps, free time, walking hints, change notes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from companion.agenda import planning
from companion.schedule.models import Room, Session

PARIS = ZoneInfo("Europe/Paris")
PIERS = {frozenset(("Pier 1", "Pier 2")): 5}


def _room(name: str, building: str | None) -> Room:
    return Room(slug=name.lower().replace(" ", "-"), name=name, building=building, position=0)


MASTER, JUNIOR, CAFE, NOWHERE = (_room("Master Stage", "Pier 1"), _room("Junior Stage", "Pier 1"),
                                 _room("Founders Cafe", "Pier 2"), _room("Tent", None))


def _at(hhmm: str, day: int = 7) -> datetime:
    """A wall-clock time in Paris on April ``day``, 2026 (CEST, UTC+2)."""
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 4, day, hours, minutes, tzinfo=PARIS).astimezone(UTC)


def _session(code: str, start: str, end: str, room: Room | None = MASTER, *, day: int = 7,
             end_day: int | None = None, state: str = "confirmed") -> Session:
    return Session(code=code, title=f"Talk {code}", starts_at=_at(start, day), ends_at=_at(end, end_day or day),
                   room=room, state=state)


def _codes(sessions: list) -> list[str]:
    return [s.code for s in sessions]


def test_touching_sessions_do_not_overlap():
    first, second = _session("A", "10:00", "10:30"), _session("B", "10:30", "11:00")

    assert planning.overlaps(first, second) is False
    assert planning.find_overlaps([first, second]) == {id(first): [], id(second): []}


def test_overlap_is_flagged_on_both_sessions():
    a, b, c = _session("A", "10:00", "11:00"), _session("B", "10:59", "11:30"), _session("C", "11:30", "12:00")

    found = planning.find_overlaps([c, b, a])

    assert (_codes(found[id(a)]), _codes(found[id(b)]), _codes(found[id(c)])) == (["B"], ["A"], [])


def test_a_long_session_overlaps_everything_inside_it():
    workshop = _session("W", "09:00", "12:00")
    inside = [_session("X", "09:30", "10:00"), _session("Y", "10:00", "10:30"), _session("Z", "11:59", "12:30")]

    found = planning.find_overlaps([workshop, *inside])

    assert _codes(found[id(workshop)]) == ["X", "Y", "Z"]
    assert [_codes(found[id(s)]) for s in inside] == [["W"], ["W"], ["W"]]


def test_overlap_across_midnight():
    party = _session("P", "23:30", "00:30", end_day=8)
    late = _session("L", "00:15", "01:00", day=8)
    after = _session("M", "00:30", "01:00", day=8)

    found = planning.find_overlaps([party, late, after])

    assert (_codes(found[id(party)]), _codes(found[id(late)]), _codes(found[id(after)])) == (["L"], ["P", "M"], ["L"])


def test_sessions_after_midnight_belong_to_the_evening_before():
    party, late = _session("P", "23:30", "00:30", end_day=8), _session("L", "00:45", "01:30", day=8)
    morning = _session("Q", "09:00", "09:30", day=8)

    plan = planning.plan_agenda([morning, late, party], {}, PARIS, _at("08:00"))

    assert [(d.day, _codes([e.session for e in d.entries])) for d in plan.days] == [
        (date(2026, 4, 7), ["P", "L"]), (date(2026, 4, 8), ["Q"])]
    assert plan.days[0].entries[1].before.free == timedelta(minutes=15)


def test_cancelled_sessions_overlap_nothing():
    a, cancelled = _session("A", "10:00", "11:00"), _session("B", "10:15", "10:45", state="cancelled")

    assert planning.find_overlaps([a, cancelled]) == {id(a): []}


def test_zero_length_session_inside_another_overlaps_it_but_not_at_its_edge():
    a = _session("A", "10:00", "11:00")
    inside, edge = _session("I", "10:30", "10:30"), _session("E", "11:00", "11:00")

    found = planning.find_overlaps([a, inside, edge])

    assert (_codes(found[id(a)]), _codes(found[id(inside)]), _codes(found[id(edge)])) == (["I"], ["A"], [])


def test_free_time_between_sessions_counts_from_the_latest_end():
    workshop, talk = _session("W", "09:00", "12:00"), _session("T", "10:00", "11:00")
    lunch = _session("L", "12:45", "13:30")
    straight_on = _session("S", "13:30", "14:00")

    between = planning.transitions([workshop, talk, lunch, straight_on], {})

    assert id(talk) not in between and id(workshop) not in between
    assert (between[id(lunch)].previous.code, between[id(lunch)].free) == ("W", timedelta(minutes=45))
    assert (between[id(straight_on)].previous.code, between[id(straight_on)].free) == ("L", timedelta(0))


def test_leave_by_when_the_walk_does_not_fit_the_gap():
    first = _session("A", "14:00", "14:25", MASTER)
    second = _session("B", "14:25", "15:00", CAFE)

    walk = planning.walk_between(first, second, PIERS)

    assert walk == planning.Walk(minutes=5, from_building="Pier 1", to_building="Pier 2", leave_by=_at("14:20"), early=True)


def test_leave_by_when_the_gap_is_within_the_slack():
    first, second = _session("A", "14:00", "14:20", MASTER), _session("B", "14:28", "15:00", CAFE)

    walk = planning.walk_between(first, second, PIERS)

    assert (walk.leave_by, walk.early) == (_at("14:23"), False)


def test_no_walking_hint_with_time_to_spare_same_building_or_unknown_pair():
    first = _session("A", "14:00", "14:20", MASTER)

    assert planning.walk_between(first, _session("B", "14:30", "15:00", CAFE), PIERS) is None  # 10 min = 5 walk + 5 slack
    assert planning.walk_between(first, _session("C", "14:20", "15:00", JUNIOR), PIERS) is None  # same pier
    assert planning.walk_between(first, _session("D", "14:20", "15:00", NOWHERE), PIERS) is None  # no building
    assert planning.walk_between(first, _session("E", "14:20", "15:00", CAFE), {}) is None  # no walking time known
    assert planning.walk_between(first, _session("F", "14:10", "15:00", CAFE), PIERS) is None  # overlapping


def test_plan_puts_the_walk_between_the_two_sessions():
    a, b = _session("A", "14:00", "14:25", MASTER), _session("B", "14:27", "15:00", CAFE)

    plan = planning.plan_agenda([b, a], PIERS, PARIS, _at("14:10"))

    entries = plan.days[0].entries
    assert [e.before for e in entries] == [None, planning.Transition(
        previous=a, free=timedelta(minutes=2),
        walk=planning.Walk(5, "Pier 1", "Pier 2", _at("14:22"), True))]
    assert (_codes(plan.now_next.now), _codes(plan.now_next.next)) == (["A"], ["B"])
    assert plan.overlap_count == 0


def test_durations_read_like_people_say_them():
    assert [planning.describe_duration(timedelta(minutes=m)) for m in (0, 45, 60, 75, 135)] == [
        "0 min", "45 min", "1 h", "1 h 15 min", "2 h 15 min"]


def _change(kind: str, old: str | None, new: str | None, minute: int = 0) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, old_value=old, new_value=new, changed_at=datetime(2026, 4, 7, 8, minute, tzinfo=UTC))


def _span(start: str, end: str, day: int = 7) -> str:
    return f"{_at(start, day).isoformat()}/{_at(end, day).isoformat()}"


def test_change_notes_say_what_moved_from_the_first_old_value_to_the_last_new_one():
    changes = [
        _change("time", _span("10:00", "10:30"), _span("10:15", "10:45"), 1),
        _change("room", "Master Stage", "Junior Stage", 1),
        _change("time", _span("10:15", "10:45"), _span("10:30", "11:00"), 2),
        _change("details", None, "abstract, speakers", 2),
    ]

    assert planning.describe_changes(changes, PARIS) == [
        "moved from 10:00 to 10:30", "room changed to Junior Stage (was Master Stage)", "details updated: abstract, speakers"]


def test_change_notes_for_other_days_ends_cancellations_and_titles():
    assert planning.describe_changes([_change("time", _span("10:00", "10:30"), _span("10:00", "10:30", day=8))], PARIS) == [
        "moved from Tue 7 Apr 10:00 to Wed 8 Apr 10:00"]
    assert planning.describe_changes([_change("time", _span("10:00", "10:30"), _span("10:00", "10:45"))], PARIS) == [
        "now ends at 10:45 (was 10:30)"]
    assert planning.describe_changes([_change("cancelled", "confirmed", "cancelled"),
                                      _change("title", "Old", "New")], PARIS) == ["renamed (was “Old”)", "cancelled"]
    assert planning.describe_changes([_change("cancelled", "confirmed", "cancelled", 1),
                                      _change("restored", "cancelled", "confirmed", 2)], PARIS) == ["back on the schedule"]
    assert planning.describe_changes([_change("time", _span("10:00", "10:30"), _span("10:30", "11:00"), 1),
                                      _change("time", _span("10:30", "11:00"), _span("10:00", "10:30"), 2)], PARIS) == []
