"""Unit tests of the schedule listing rules: days, slots, filters, search, now/next, text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import companion.models  # noqa: F401  (every mapper configured before building transient objects)
from companion.schedule import listing
from companion.schedule.listing import Filters
from companion.schedule.models import Room, Session, SessionSpeaker, Speaker, Track

PARIS = ZoneInfo("Europe/Paris")
MASTER = Room(slug="master-stage", name="Master Stage", position=0)
JUNIOR = Room(slug="junior-stage", name="Junior Stage", position=1)
CAFE = Room(slug="founders-cafe", name="Founders Cafe", position=2)
COMPILERS = Track(slug="compilers", name="Compilers", colour="#d62728")


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """An aware datetime in Paris in April 2026 (CEST, UTC+2)."""
    return datetime(2026, 4, day, hour, minute, tzinfo=PARIS)


def make(title: str, start: datetime, minutes: int = 25, room: Room | None = MASTER, *, track: Track | None = None,
         speakers: tuple[str, ...] = (), abstract: str | None = None, type: str | None = "Talk",
         level: str | None = None, cancelled: bool = False) -> Session:
    """A transient session (never added to a database)."""
    session = Session(
        title=title, starts_at=start.astimezone(UTC), ends_at=(start + timedelta(minutes=minutes)).astimezone(UTC),
        room=room, track=track, type=type, level=level, abstract=abstract,
        state="cancelled" if cancelled else "confirmed",
    )
    session.speaker_links = [SessionSpeaker(speaker=Speaker(name=name), position=i) for i, name in enumerate(speakers)]
    return session


def titles(sessions: list[Session]) -> list[str]:
    return [s.title for s in sessions]


# --- days -------------------------------------------------------------------------------------


def test_conference_day_after_midnight_before_four_belongs_to_previous_day():
    assert listing.conference_day(paris(8, 0, 30), PARIS) == date(2026, 4, 7)
    assert listing.conference_day(paris(8, 3, 59), PARIS) == date(2026, 4, 7)
    assert listing.conference_day(paris(8, 4, 0), PARIS) == date(2026, 4, 8)


def test_conference_day_uses_the_conference_zone_not_utc():
    # 23:30 UTC on the 7th is 01:30 on the 8th in Paris: still the 7th's evening by the 04:00 rule.
    late = datetime(2026, 4, 7, 23, 30, tzinfo=UTC)
    assert listing.conference_day(late, PARIS) == date(2026, 4, 7)
    # 02:30 UTC on the 8th is 04:30 in Paris: the 8th.
    assert listing.conference_day(datetime(2026, 4, 8, 2, 30, tzinfo=UTC), PARIS) == date(2026, 4, 8)
    # The same instant in New York is the evening of the 7th.
    assert listing.conference_day(datetime(2026, 4, 8, 2, 30, tzinfo=UTC), ZoneInfo("America/New_York")) == date(2026, 4, 7)



def test_conference_days_covers_the_date_range_and_every_session_day():
    sessions = [make("A", paris(7, 9)), make("Party", paris(8, 1)), make("B", paris(10, 9))]
    assert listing.conference_days(sessions, PARIS) == [date(2026, 4, 7), date(2026, 4, 10)]
    assert listing.conference_days(sessions, PARIS, date(2026, 4, 7), date(2026, 4, 9)) == [
        date(2026, 4, 7), date(2026, 4, 8), date(2026, 4, 9), date(2026, 4, 10),
    ]


def test_default_day_is_today_during_the_conference_else_the_first_day():
    days = [date(2026, 4, 7), date(2026, 4, 8)]
    assert listing.default_day(days, paris(8, 12).astimezone(UTC), PARIS) == date(2026, 4, 8)
    assert listing.default_day(days, paris(9, 2).astimezone(UTC), PARIS) == date(2026, 4, 8)  # 02:00 is still the 8th
    assert listing.default_day(days, paris(1, 12).astimezone(UTC), PARIS) == date(2026, 4, 7)
    assert listing.default_day(days, paris(20, 12).astimezone(UTC), PARIS) == date(2026, 4, 7)
    assert listing.default_day([], paris(7, 12), PARIS) is None


def test_sessions_on_keeps_the_after_midnight_session_with_its_evening():
    evening, late, morning = make("Evening", paris(7, 20)), make("Late", paris(8, 0, 30)), make("Morning", paris(8, 9))
    assert titles(listing.sessions_on([evening, late, morning], date(2026, 4, 7), PARIS)) == ["Evening", "Late"]
    assert titles(listing.sessions_on([evening, late, morning], date(2026, 4, 8), PARIS)) == ["Morning"]


# --- slots ------------------------------------------------------------------------------------


def test_group_into_slots_one_slot_per_start_time_in_room_order():
    sessions = [
        make("Cafe talk", paris(7, 10), room=CAFE),
        make("Keynote", paris(7, 9)),
        make("Junior talk", paris(7, 10), room=JUNIOR),
        make("Master talk", paris(7, 10), room=MASTER),
        make("No room", paris(7, 10), room=None),
        make("Later", paris(7, 10, 30), room=JUNIOR),
    ]
    slots = listing.group_into_slots(sessions)
    assert [(s.starts_at, titles(s.sessions)) for s in slots] == [
        (paris(7, 9).astimezone(UTC), ["Keynote"]),
        (paris(7, 10).astimezone(UTC), ["Master talk", "Junior talk", "Cafe talk", "No room"]),
        (paris(7, 10, 30).astimezone(UTC), ["Later"]),
    ]


def test_group_into_slots_of_nothing_is_empty():
    assert listing.group_into_slots([]) == []


def test_group_by_day_and_count_by_day():
    sessions = [make("B", paris(8, 9)), make("A", paris(7, 9)), make("Late", paris(8, 1))]
    assert [(d, titles(s)) for d, s in listing.group_by_day(sessions, PARIS)] == [
        (date(2026, 4, 7), ["A", "Late"]), (date(2026, 4, 8), ["B"]),
    ]
    assert listing.count_by_day(sessions, PARIS) == {date(2026, 4, 7): 2, date(2026, 4, 8): 1}


# --- filters and search -----------------------------------------------------------------------

NOW = paris(7, 10, 10).astimezone(UTC)
DAY = [
    make("Opening Keynote", paris(7, 9), 30, MASTER, type="Keynote", level="All", speakers=("Ada Lovelace",),
         abstract="Welcome to the conference."),
    make("Compilers for Everyone", paris(7, 9, 45), 25, MASTER, track=COMPILERS, level="Intermediate",
         speakers=("Grace Hopper",), abstract="How torch.compile sees your code."),
    make("Serving Models at Scale", paris(7, 9, 50), 25, JUNIOR, level="Advanced", speakers=("Alan Turing", "Ada Lovelace")),
    make("Tiny Tensors", paris(7, 10, 30), 10, CAFE, track=COMPILERS, type="Lightning Talk", level="Beginner"),
    make("Cancelled Talk", paris(7, 10, 30), 25, JUNIOR, cancelled=True),
]


def test_filter_by_room():
    assert titles(listing.filter_sessions(DAY, Filters(room="junior-stage"), NOW)) == ["Serving Models at Scale", "Cancelled Talk"]


def test_filter_by_track_type_and_level():
    assert titles(listing.filter_sessions(DAY, Filters(track="compilers"), NOW)) == ["Compilers for Everyone", "Tiny Tensors"]
    assert titles(listing.filter_sessions(DAY, Filters(type="Lightning Talk"), NOW)) == ["Tiny Tensors"]
    assert titles(listing.filter_sessions(DAY, Filters(track="compilers", level="Intermediate"), NOW)) == ["Compilers for Everyone"]


def test_search_is_case_insensitive_over_title_abstract_and_speakers():
    assert titles(listing.filter_sessions(DAY, Filters(q="KEYNOTE"), NOW)) == ["Opening Keynote"]
    assert titles(listing.filter_sessions(DAY, Filters(q="torch.COMPILE"), NOW)) == ["Compilers for Everyone"]
    assert titles(listing.filter_sessions(DAY, Filters(q="ada lovelace"), NOW)) == ["Opening Keynote", "Serving Models at Scale"]
    # Every word must match somewhere, not necessarily side by side.
    assert titles(listing.filter_sessions(DAY, Filters(q="turing scale"), NOW)) == ["Serving Models at Scale"]
    assert titles(listing.filter_sessions(DAY, Filters(q="nobody"), NOW)) == []
    assert titles(listing.filter_sessions(DAY, Filters(q="   "), NOW)) == titles(DAY)


def test_hide_past_drops_ended_sessions_and_keeps_ongoing_ones():
    # At 10:10: the keynote (9:00-9:30) has ended; compilers (9:45-10:10) ends exactly now;
    # serving (9:50-10:15) is still running.
    shown = listing.filter_sessions(DAY, Filters(hide_past=True), NOW)
    assert titles(shown) == ["Serving Models at Scale", "Tiny Tensors", "Cancelled Talk"]


def test_filters_active_and_params():
    assert not Filters().active
    assert Filters(hide_past=True).active
    assert Filters(room="a", q="x y", hide_past=True).as_params() == {"room": "a", "q": "x y", "hide_past": "1"}
    assert Filters().as_params() == {}


def test_distinct_values_sorted_without_empties():
    assert listing.distinct_values(DAY, "type") == ["Keynote", "Lightning Talk", "Talk"]
    assert listing.distinct_values(DAY, "level") == ["Advanced", "All", "Beginner", "Intermediate"]


# --- now / next -------------------------------------------------------------------------------


def test_now_and_next_during_a_slot():
    result = listing.now_and_next(DAY, paris(7, 10).astimezone(UTC))
    assert titles(result.now) == ["Compilers for Everyone", "Serving Models at Scale"]
    # The cancelled talk starts at 10:30 too, but runs neither now nor next.
    assert titles(result.next) == ["Tiny Tensors"]
    assert result.next_starts_at == paris(7, 10, 30).astimezone(UTC)


def test_now_and_next_start_is_inclusive_end_is_exclusive():
    at_start = listing.now_and_next(DAY, paris(7, 9).astimezone(UTC))
    assert titles(at_start.now) == ["Opening Keynote"] and titles(at_start.next) == ["Compilers for Everyone"]
    at_end = listing.now_and_next(DAY, paris(7, 9, 30).astimezone(UTC))
    assert titles(at_end.now) == [] and titles(at_end.next) == ["Compilers for Everyone"]


def test_now_and_next_before_and_after_the_conference():
    before = listing.now_and_next(DAY, paris(7, 8).astimezone(UTC))
    assert titles(before.now) == [] and titles(before.next) == ["Opening Keynote"]
    after = listing.now_and_next(DAY, paris(7, 18).astimezone(UTC))
    assert titles(after.now) == [] and after.next == [] and after.next_starts_at is None


def test_is_on_only_on_conference_days():
    days = [date(2026, 4, 7), date(2026, 4, 8)]
    assert listing.is_on(days, paris(7, 8).astimezone(UTC), PARIS)
    assert listing.is_on(days, paris(9, 3).astimezone(UTC), PARIS)  # the night after day two
    assert not listing.is_on(days, paris(9, 5).astimezone(UTC), PARIS)
    assert not listing.is_on(days, paris(6, 12).astimezone(UTC), PARIS)


# --- display helpers --------------------------------------------------------------------------


def test_zone_label_names_the_zone_and_its_abbreviation_at_that_moment():
    assert listing.zone_label(PARIS, paris(7, 12)) == "Europe/Paris (CEST)"
    assert listing.zone_label(PARIS, datetime(2026, 1, 10, 12, tzinfo=UTC)) == "Europe/Paris (CET)"
    assert listing.zone_label(ZoneInfo("UTC"), paris(7, 12)) == "UTC"


def test_paragraphs_of_plain_text():
    assert listing.paragraphs("First line\nsecond line\n\n\nNext  paragraph\r\n\r\nLast") == [
        "First line\nsecond line", "Next paragraph", "Last",
    ]
    assert listing.paragraphs(None) == [] and listing.paragraphs("  \n ") == []


def test_paragraphs_turn_source_html_into_text():
    html = '<p>Hello <b>world</b> &amp; friends</p><p>Click <a href="javascript:alert(1)">here</a><br>now</p><script>alert(1)</script>'
    assert listing.paragraphs(html) == ["Hello world & friends", "Click here\nnow"]
    assert listing.paragraphs("x < y and a&b") == ["x < y and a&b"]


def test_safe_links_keep_only_http_urls():
    links = [{"url": "https://example.org/slides", "title": "Slides"}, {"url": "javascript:alert(1)", "title": "Bad"},
             {"url": "HTTP://example.org/v", "title": ""}, {"url": "", "title": "Empty"}]
    assert listing.safe_links(links) == [
        listing.Link("https://example.org/slides", "Slides"), listing.Link("HTTP://example.org/v", "HTTP://example.org/v"),
    ]
