"""The schedule pages, through the Flask test client: exact content, not just status codes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from companion.schedule.models import Session, Speaker
from tests.factories import DAY_ONE, load_schedule, small_schedule

DAY_ONE_TITLES = [
    "Opening Keynote", "Compilers for Everyone", "Serving Models at Scale",
    "Lightning Talk: Tiny Tensors", "Coffee Break",
]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --- a small DOM, so assertions read the page's structure rather than grep its text -----------


@dataclasses.dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = dataclasses.field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def raw_text(self) -> str:
        return "".join(c if isinstance(c, str) else c.raw_text() for c in self.children)

    def text(self) -> str:
        return " ".join(self.raw_text().split())

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
                and all(n.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag} class={cls} {attrs}> in the page"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack = [Node("#document", {})]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.stack[0]


def session_titles(node: Node) -> list[str]:
    return [h.find("a").text() for h in node.find_all(cls="session-title")]


def slots(page: Node) -> list[tuple[str, list[str]]]:
    """(slot time, session titles) for every time slot of the schedule list."""
    return [(s.find("h2").text(), session_titles(s)) for s in page.find_all("section", cls="slot")]


def listed(page: Node) -> list[str]:
    """The titles of the schedule list, slot after slot."""
    return [title for _, titles in slots(page) for title in titles]


def now_next(page: Node) -> dict[str, list[str]]:
    """{"Now": [...], "Next...": [...]} from the Now and next block."""
    found = page.find_all("section", cls="now-next")
    if not found:
        return {}
    result: dict[str, list[str]] = {}
    heading = ""
    for node in found[0].walk():
        if node.tag == "h3":
            heading = node.text()
            result[heading] = []
        elif "session-title" in node.classes:
            result[heading].append(node.find("a").text())
    return result


@pytest.fixture
def get(client) -> Callable[..., Node]:
    def _get(url: str, status: int = 200) -> Node:
        response = client.get(url)
        assert response.status_code == status, response.text[:2000]
        assert response.mimetype == "text/html"
        return parse(response.text)
    return _get


@pytest.fixture
def codes(db) -> dict[str, str]:
    """Load the small schedule; the public code of every session (by title) and speaker (by name)."""
    load_schedule()
    found = {s.title: s.code for s in db.scalars(select(Session))}
    found.update({s.name: s.code for s in db.scalars(select(Speaker))})
    return found


# --- the schedule list -----------------------------------------------------------------------


def test_root_redirects_to_schedule(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/schedule"


def test_schedule_before_any_import_says_so(get):
    page = get("/schedule")
    assert page.find("div", cls="empty-state").text() == (
        "The schedule has not been published yet. The organisers have not imported it. "
        "Check back soon: once it is here, this page works offline too."
    )
    assert slots(page) == []


def test_schedule_lists_day_one_by_time_slot_in_paris_time(get, codes, clock):
    clock.set(datetime(2026, 3, 1, tzinfo=UTC))  # before the conference: first day, no now/next
    page = get("/schedule")
    assert page.find("h1").text() == "Schedule Tuesday 7 April 2026"
    assert slots(page) == [
        ("09:00", ["Opening Keynote"]),
        ("09:45", ["Compilers for Everyone"]),
        ("09:50", ["Serving Models at Scale"]),
        ("10:30", ["Lightning Talk: Tiny Tensors"]),
        ("11:00", ["Coffee Break"]),
    ]
    first_slot_time = page.find("section", cls="slot").find("time")
    assert first_slot_time.attrs["datetime"] == "2026-04-07T07:00:00Z"
    assert page.find("div", cls="zone-note").find("p").text() == (
        "Times are in Europe/Paris (CEST), the conference's time zone."
    )
    assert now_next(page) == {}


def test_schedule_shows_room_track_speakers_type_level_of_a_session(get, codes):
    page = get("/schedule")
    serving = next(li for li in page.find_all("li", cls="session") if "Serving Models at Scale" in li.text())
    assert serving.find("p", cls="session-when").text() == "09:50–10:15 · Junior Stage"
    assert serving.find("a", href="/rooms/junior-stage").text() == "Junior Stage"
    assert serving.find("p", cls="session-speakers").text() == "Alan Turing, Ada Lovelace"
    chips = [(c.text(), c.classes) for c in serving.find_all("span", cls="chip")]
    assert chips == [
        ("Inference & Production", ["chip", "chip-track", "track-inference-production"]),
        ("Talk", ["chip"]), ("Level: Advanced", ["chip"]),
    ]
    assert serving.find("a").attrs["href"] == f"/sessions/{codes['Serving Models at Scale']}"


def test_schedule_day_tabs_mark_the_current_day(get, codes):
    page = get("/schedule?day=2026-04-08")
    tabs = page.find("nav", aria_label="Conference days").find_all("a")
    assert [(a.text(), a.attrs["href"], a.attrs.get("aria-current")) for a in tabs] == [
        ("Tue 7 Apr", "/schedule?day=2026-04-07", None),
        ("Wed 8 Apr", "/schedule?day=2026-04-08", "page"),
    ]
    assert slots(page) == [("09:00", ["Hands-on: Profiling"])]


def test_schedule_defaults_to_today_during_the_conference(get, codes, clock):
    clock.set(datetime(2026, 4, 8, 12, 0, tzinfo=UTC))
    assert slots(get("/schedule")) == [("09:00", ["Hands-on: Profiling"])]
    clock.set(datetime(2026, 4, 9, 1, 30, tzinfo=UTC))  # 03:30 in Paris: still day two
    assert slots(get("/schedule")) == [("09:00", ["Hands-on: Profiling"])]


def test_schedule_filter_by_room_shows_exactly_its_sessions(get, codes):
    page = get("/schedule?room=founders-cafe")
    assert listed(page) == ["Lightning Talk: Tiny Tensors", "Coffee Break"]
    options = page.find("select", id="filter-room").find_all("option")
    assert [o.attrs["value"] for o in options if "selected" in o.attrs] == ["founders-cafe"]
    assert page.find("p", cls="result-count").text() == "2 of 5 sessions match the filters."
    # Day tabs keep the filter and count the matches of each day.
    tabs = page.find("nav", aria_label="Conference days").find_all("a")
    assert [(a.text(), a.attrs["href"]) for a in tabs] == [
        ("Tue 7 Apr (2 matching)", "/schedule?day=2026-04-07&room=founders-cafe"),
        ("Wed 8 Apr (0 matching)", "/schedule?day=2026-04-08&room=founders-cafe"),
    ]


def test_schedule_filters_by_track_type_and_level(get, codes):
    assert listed(get("/schedule?track=frameworks-compilers")) == [
        "Compilers for Everyone", "Lightning Talk: Tiny Tensors"]
    assert listed(get("/schedule?type=Talk")) == [
        "Compilers for Everyone", "Serving Models at Scale"]
    assert listed(get("/schedule?level=Advanced&type=Talk")) == ["Serving Models at Scale"]


def test_schedule_search_matches_title_abstract_and_speaker_any_case(get, codes):
    assert listed(get("/schedule?q=LOVELACE")) == ["Opening Keynote", "Serving Models at Scale"]
    assert listed(get("/schedule?q=latency+budget")) == ["Serving Models at Scale"]
    assert listed(get("/schedule?q=tiny")) == ["Lightning Talk: Tiny Tensors"]


def test_schedule_no_match_offers_to_clear_filters_and_other_days(get, codes):
    page = get("/schedule?q=profiling")
    empty = page.find("div", cls="empty-state")
    assert empty.text() == (
        "No sessions match these filters on Tue 7 Apr. Other days have matches: Wed 8 Apr (1). "
        "Clear the filters to see all 5 sessions of the day."
    )
    assert [a.attrs["href"] for a in empty.find_all("a")] == ["/schedule?day=2026-04-08&q=profiling", "/schedule?day=2026-04-07"]
    assert slots(page) == []


def test_schedule_hide_past_keeps_ongoing_sessions(get, codes, clock):
    clock.set(DAY_ONE + timedelta(minutes=60))  # 10:00 Paris: compilers and serving are running
    assert listed(get("/schedule?hide_past=1")) == [
        "Compilers for Everyone", "Serving Models at Scale", "Lightning Talk: Tiny Tensors", "Coffee Break"]
    assert listed(get("/schedule")) == DAY_ONE_TITLES


def test_schedule_now_and_next_at_a_given_moment(get, codes, clock):
    clock.set(DAY_ONE + timedelta(minutes=55))  # 09:55 Paris
    assert now_next(get("/schedule")) == {
        "Now": ["Compilers for Everyone", "Serving Models at Scale"],
        "Next, from Tue 7 Apr, 10:30": ["Lightning Talk: Tiny Tensors"],
    }
    clock.set(DAY_ONE - timedelta(hours=1))  # 08:00 on day one: nothing yet, keynote next
    page = get("/schedule")
    assert now_next(page) == {"Now": [], "Next, from Tue 7 Apr, 09:00": ["Opening Keynote"]}
    assert page.find("section", cls="now-next").find("p", cls="muted").text() == "Nothing is running right now."


def test_schedule_now_and_next_hidden_outside_the_conference(get, codes, clock):
    clock.set(datetime(2026, 4, 9, 12, tzinfo=UTC))
    assert now_next(get("/schedule")) == {}


def test_schedule_shows_cancelled_sessions_as_cancelled(get, db, clock):
    load_schedule()
    changed = small_schedule()
    changed.sessions[1].cancelled = True
    load_schedule(changed, now=DAY_ONE)
    clock.set(DAY_ONE + timedelta(minutes=30))  # 09:30: compilers would be next, but it is cancelled
    page = get("/schedule")
    item = next(li for li in page.find_all("li", cls="session") if "Compilers" in li.text())
    assert item.classes == ["session", "is-cancelled"]
    assert item.find(cls="session-title").text() == "Compilers for Everyone Cancelled"
    assert item.find("span", cls="badge-cancelled").text() == "Cancelled"
    assert now_next(page) == {"Now": [], "Next, from Tue 7 Apr, 09:50": ["Serving Models at Scale"]}


@pytest.mark.parametrize(("query", "parameter"), [
    ("day=2026-05-01", "day"), ("day=tomorrow", "day"), ("day=2026-02-30", "day"),
    ("room=main-hall", "room"), ("track=cooking", "track"), ("type=Party", "type"),
    ("level=Wizard", "level"), ("hide_past=maybe", "hide_past"), ("q=" + "x" * 201, "q"),
])
def test_schedule_bad_parameter_is_a_400_naming_it(client, codes, query, parameter):
    response = client.get(f"/schedule?{query}")
    assert response.status_code == 400
    page = parse(response.text)
    assert page.find("h1").text() == "Bad Request"
    detail = [p.text() for p in page.find("main").find_all("p") if not p.classes][0]
    assert detail.startswith(f"Parameter '{parameter}': ")
    assert page.find("ul", cls="problem-errors").find("code").text() == f"query.{parameter}"


def test_schedule_bad_parameter_as_problem_json(client, codes):
    response = client.get("/schedule?room=nowhere", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == "Parameter 'room': unknown room 'nowhere'; pick one from the list or leave it empty."
    assert response.json["errors"] == [{"loc": "query.room", "msg": "unknown room 'nowhere'; pick one from the list or leave it empty."}]


def test_empty_filter_values_are_no_filter(get, codes):
    page = get("/schedule?day=&room=&track=&type=&level=&q=&hide_past=")
    assert listed(page) == DAY_ONE_TITLES


# --- detail pages ----------------------------------------------------------------------------


def test_session_page_shows_everything_about_the_session(get, codes):
    page = get(f"/sessions/{codes['Serving Models at Scale']}")
    main = page.find("main")
    assert main.find("h1").text() == "Serving Models at Scale"
    facts = main.find("dl", cls="facts")
    assert [(dt.text(), dd.text()) for dt, dd in zip(facts.find_all("dt"), facts.find_all("dd"), strict=True)] == [
        ("When", "Tue 7 Apr, 09:50–10:15"), ("Where", "Junior Stage, Pier 1"), ("Track", "Inference & Production"),
        ("Type", "Talk"), ("Level", "Advanced"), ("Language", "EN"),
    ]
    assert [t.attrs["datetime"] for t in facts.find_all("time")] == ["2026-04-07T07:50:00Z", "2026-04-07T08:15:00Z"]
    assert facts.find("a").attrs["href"] == "/rooms/junior-stage"
    assert main.find("section", aria_labelledby="abstract-heading").find("p").text() == "Batching, caching, and the latency budget."
    speakers = main.find("section", aria_labelledby="speakers-heading")
    assert [(a.text(), a.attrs["href"]) for a in speakers.find_all("a")] == [
        ("Alan Turing", f"/speakers/{codes['Alan Turing']}"), ("Ada Lovelace", f"/speakers/{codes['Ada Lovelace']}")]
    assert main.find("div", cls="zone-note").find("p").text() == "Times are in Europe/Paris (CEST), the conference's time zone."
    assert [p.find("a").attrs["href"] for p in main.find_all("p", cls="calendar-link")] == [
        f"/sessions/{codes['Serving Models at Scale']}.ics", "/schedule/export/schedule.ics"]
    assert not main.find_all(cls="notice-cancelled")


def test_session_page_links_and_cancelled_notice(get, db):
    load_schedule()
    changed = small_schedule()
    changed.sessions[0].cancelled = True
    load_schedule(changed)
    code = db.scalar(select(Session.code).where(Session.title == "Opening Keynote"))
    main = get(f"/sessions/{code}").find("main")
    assert main.find("p", cls="notice-cancelled").text() == "Cancelled. This session will not take place."
    assert main.find("article").classes == ["session-page", "is-cancelled"]
    links = main.find("section", aria_labelledby="links-heading")
    assert [(a.text(), a.attrs["href"]) for a in links.find_all("a")] == [("Slides", "https://example.org/slides")]


def test_session_page_never_renders_source_html(client, db):
    parsed = small_schedule()
    parsed.sessions[0].description = '<p>Intro &amp; <b>bold</b></p><script>alert("x")</script><p>Second</p>'
    parsed.sessions[0].abstract = "<img src=x onerror=alert(1)> plain"
    load_schedule(parsed)
    code = db.scalar(select(Session.code).where(Session.title == "Opening Keynote"))
    response = client.get(f"/sessions/{code}")
    assert "<b>" not in response.text and "<img" not in response.text and 'alert("x")' not in response.text
    main = parse(response.text).find("main")
    description = main.find("section", aria_labelledby="description-heading")
    assert [p.text() for p in description.find_all("p")] == ["Intro & bold", "Second"]
    assert [p.text() for p in main.find("section", aria_labelledby="abstract-heading").find_all("p")] == ["plain"]


def test_speaker_page(get, codes):
    main = get(f"/speakers/{codes['Ada Lovelace']}").find("main")
    assert main.find("h1").text() == "Ada Lovelace"
    assert main.find("p", cls="subtitle").text() == "Programmer, Analytical Engines"
    assert main.find("section", aria_labelledby="bio-heading").find("p").text() == "Wrote the first program."
    sessions = main.find("section", aria_labelledby="sessions-heading")
    assert [h.text() for h in sessions.find_all("h3")] == ["Tuesday 7 April 2026"]
    assert session_titles(sessions) == ["Opening Keynote", "Serving Models at Scale"]


def test_room_page_now_next_and_programme(get, codes, clock):
    clock.set(DAY_ONE + timedelta(minutes=10))  # 09:10: the keynote is on the Master Stage
    main = get("/rooms/master-stage").find("main")
    assert main.find("h1").text() == "Master Stage"
    facts = main.find("dl", cls="facts")
    assert [n.text() for n in facts.find_all("dd")] == ["Pier 1", "800 seats"]
    sections = main.find_all("section")
    now_section = sections[0]
    assert [h.text() for h in now_section.find_all("h2")] == ["Now in this room", "Next in this room"]
    assert session_titles(now_section) == ["Opening Keynote", "Compilers for Everyone"]
    programme = sections[1]
    assert [h.text() for h in programme.find_all("h3")] == ["Tuesday 7 April 2026"]
    assert session_titles(programme) == ["Opening Keynote", "Compilers for Everyone"]


def test_room_page_after_its_last_session(get, codes, clock):
    clock.set(datetime(2026, 4, 9, tzinfo=UTC))
    now_section = get("/rooms/junior-stage").find("section", cls="now-next")
    assert [p.text() for p in now_section.find_all("p", cls="muted")] == [
        "Nothing is running here right now.", "No more sessions in this room."]


@pytest.mark.parametrize("url", ["/sessions/NOPE42", "/speakers/NOPE42", "/rooms/ballroom"])
def test_unknown_code_is_a_404_page(client, codes, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert parse(response.text).find("h1").text() in ("Session not found", "Speaker not found", "Room not found")


# --- track colours, markup rules -------------------------------------------------------------


def test_tracks_css_has_a_rule_per_track_and_revalidates_by_etag(client, codes, db):
    response = client.get("/schedule/tracks.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert response.text.splitlines()[1:] == [
        ".track-community{--track:#1f77b4}",
        ".track-frameworks-compilers{--track:#d62728}",
        ".track-inference-production{--track:#2ca02c}",
    ]
    assert response.headers["Cache-Control"] == "no-cache, public"
    again = client.get("/schedule/tracks.css", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_tracks_css_ignores_malformed_colours(client, db):
    parsed = small_schedule()
    parsed.tracks[0].colour = "red;}p{"  # would close the rule and style every paragraph
    parsed.tracks[1].colour = "blue"
    load_schedule(parsed)
    lines = client.get("/schedule/tracks.css").text.splitlines()[1:]
    # Malformed colours are replaced by one of the fallback palette, chosen by slug.
    assert [line.split("{")[0] for line in lines] == [".track-community", ".track-frameworks-compilers", ".track-inference-production"]
    assert all(re.fullmatch(r"\.track-[a-z-]+\{--track:#[0-9a-f]{6}\}", line) for line in lines), lines
    assert lines[2] == ".track-inference-production{--track:#2ca02c}"


def inline_code(page: Node) -> list[str]:
    """Everything a strict CSP would block: inline scripts, <style>, style= and on*= attributes."""
    problems = [f"<{n.tag}> inline" for n in page.walk() if (n.tag == "script" and not n.attrs.get("src")) or n.tag == "style"]
    return problems + [f"{name}= on <{n.tag}>" for n in page.walk() for name in n.attrs
                       if name == "style" or name.startswith("on")]


def test_no_page_has_inline_script_or_style(client, codes):
    urls = [
        "/schedule", "/schedule?day=2026-04-08", "/schedule?q=nothing-matches", "/schedule?room=nowhere",
        f"/sessions/{codes['Opening Keynote']}", f"/speakers/{codes['Grace Hopper']}", "/rooms/founders-cafe",
        "/sessions/NOPE42", "/offline",
    ]
    for url in urls:
        response = client.get(url)
        assert inline_code(parse(response.text)) == [], url
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_pages_have_lang_viewport_theme_colour_description_and_landmarks(get, codes):
    for url in ["/schedule", f"/sessions/{codes['Opening Keynote']}", "/rooms/master-stage"]:
        page = get(url)
        assert page.find("html").attrs["lang"] == "en"
        assert page.find("meta", name="viewport").attrs["content"] == "width=device-width, initial-scale=1"
        assert page.find("meta", name="theme-color").attrs["content"] == "#16325c"
        assert page.find("meta", name="description").attrs["content"]
        assert page.find("link", rel="manifest").attrs["href"] == "/manifest.webmanifest"
        assert [n.tag for n in page.find("body").children if isinstance(n, Node)] == ["a", "header", "main", "footer"]
        assert page.find("a", cls="skip-link").attrs["href"] == "#main"
        levels = [int(n.tag[1]) for n in page.find("main").walk() if n.tag in ("h1", "h2", "h3", "h4")]
        assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), (url, levels)
        labelled = {n.attrs["for"] for n in page.find_all("label")}
        controls = [n for n in page.find_all() if n.tag in ("select", "textarea")
                    or (n.tag == "input" and n.attrs.get("type") != "hidden")]
        assert all(n.attrs.get("id") in labelled for n in controls), url
