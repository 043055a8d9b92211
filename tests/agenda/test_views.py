"""Agenda pages through the test client: my agenda, star forms, change marks, sharing; the data
download and deletion; and the ``companion agenda`` commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
from sqlalchemy import func, select

from companion.agenda import services
from companion.agenda.models import AgendaShare, Favourite, WalkingTime
from companion.schedule.models import Session
from tests.accounts.factories import csrf_from, make_attendee, sign_in
from tests.factories import load_schedule, small_schedule


@pytest.fixture
def ada(db, client):
    """Ada, signed in on ``client``, with the small schedule loaded; ``ada.csrf`` for forms."""
    load_schedule()
    attendee = make_attendee(email="marie.curie@example.org", name="Marie Salomea Curie")
    user = attendee.user
    user.badge_token = attendee.badge_token
    sign_in(client, user)
    user.csrf = csrf_from(client.get("/agenda").get_data(as_text=True))
    return user


def _session(db, key: str) -> Session:
    return db.scalars(select(Session).where(Session.source_key == key)).one()


def _star(db, user, *keys: str, at: datetime = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)) -> None:
    for key in keys:
        services.star(user, _session(db, key), now=at)
    db.commit()


def _page(client, path: str = "/agenda"):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return lxml.html.fromstring(response.get_data(as_text=True))


def _text(node) -> str:
    return " ".join(node.text_content().split())


def _item(page, db, key: str) -> str:
    return _text(page.xpath(f'//li[@id="s-{_session(db, key).code}"]')[0])


def _starred(db, user) -> list[str]:
    return list(db.scalars(select(Session.source_key).join(Favourite).where(Favourite.user_id == user.id)
                           .order_by(Session.starts_at)))


# --- My agenda -------------------------------------------------------------------------------


def test_agenda_flags_overlaps_on_both_sessions_gaps_and_leave_by(client, db, ada):
    _star(db, ada, "s-compilers", "s-serving", "s-lightning", "s-workshop")
    services.set_walking_time("Pier 1", "Pier 2", 20)
    db.commit()

    page = _page(client)

    assert [_text(h) for h in page.xpath('//h2[@class="day-heading"]')] == ["Tuesday 7 April 2026", "Wednesday 8 April 2026"]
    assert _text(page.xpath('//p[contains(@class, "agenda-summary")]')[0]) == "4 starred sessions; 2 of them overlap another."
    assert _item(page, db, "s-compilers") == (
        "Star Compilers for Everyone Compilers for Everyone 09:45–10:10 · Master Stage, Pier 1 Grace Hopper "
        "Overlaps with Serving Models at Scale (09:50–10:15)")
    assert _item(page, db, "s-serving") == (
        "Star Serving Models at Scale Serving Models at Scale 09:50–10:15 · Junior Stage, Pier 1 Alan Turing, Ada Lovelace "
        "Overlaps with Compilers for Everyone (09:45–10:10)")
    assert _item(page, db, "s-lightning") == (
        "Star Lightning Talk: Tiny Tensors Lightning Talk: Tiny Tensors 10:30–10:40 · Founders Cafe, Pier 2 Alan Turing")
    assert [_text(li) for li in page.xpath('//li[@class="agenda-between"]')] == [
        "15 min free Leave by 10:10: 20 min walk from Pier 1 to Pier 2, before “Serving Models at Scale” ends at 10:15."]
    # 11:00 in Paris: none of my sessions runs; the next is tomorrow's workshop.
    assert _text(page.xpath('//section[contains(@class, "now-next")]')[0]) == (
        "Now and next for you Now None of your sessions is running right now. "
        "Next, at Wed 8 Apr, 09:00 Hands-on: Profiling, Junior Stage (Pier 1)")
    assert page.xpath('//button[@data-star]/@aria-pressed') == ["true"] * 4


def test_agenda_without_stars_links_to_the_schedule(client, db, ada):
    page = _page(client)

    empty = page.xpath('//div[@class="empty-state"]')[0]
    assert _text(empty).startswith("You have not starred any sessions yet.")
    assert empty.xpath(".//a/@href") == ["/schedule"]


def test_changed_favourites_are_marked_until_mark_as_seen(client, db, ada, clock):
    _star(db, ada, "s-keynote", "s-serving")
    parsed = small_schedule()
    keynote = next(s for s in parsed.sessions if s.key == "s-keynote")
    keynote.start, keynote.end, keynote.room = keynote.start + timedelta(minutes=30), keynote.end + timedelta(minutes=30), "Junior Stage"
    load_schedule(parsed, now=datetime(2026, 4, 7, 9, 30, tzinfo=UTC))
    changed = "Changed: moved from 09:00 to 09:30; room changed to Junior Stage (was Master Stage)"

    first, second = _page(client), _page(client)  # looking does not clear the mark

    for page in (first, second):
        assert _item(page, db, "s-keynote").endswith(changed)
        assert "Changed" not in _item(page, db, "s-serving")
        assert _text(page.xpath('//section[contains(@class, "notice-changes")]/h2')[0]) == "1 of your sessions changed"
    seen = client.post("/agenda/seen", data={"csrf_token": ada.csrf})
    assert (seen.status_code, seen.headers["Location"]) == (303, "/agenda")
    after = _page(client)
    assert "Changed" not in _item(after, db, "s-keynote") and not after.xpath('//section[contains(@class, "notice-changes")]')

    keynote.start, keynote.end = keynote.start + timedelta(minutes=15), keynote.end + timedelta(minutes=15)
    load_schedule(parsed, now=datetime(2026, 4, 7, 10, 0, tzinfo=UTC))
    assert _item(_page(client), db, "s-keynote").endswith("Changed: moved from 09:30 to 09:45")


def test_a_change_before_the_star_is_not_marked(client, db, ada):
    parsed = small_schedule()
    parsed.sessions[0].title = "Opening Keynote, renamed"
    load_schedule(parsed, now=datetime(2026, 4, 7, 8, 0, tzinfo=UTC))
    _star(db, ada, "s-keynote")  # at 09:00, after the change, at sequence 1

    assert "Changed" not in _item(_page(client), db, "s-keynote")


def test_stars_survive_a_reimport_that_moves_a_session(client, db, ada):
    _star(db, ada, "s-lightning")
    parsed = small_schedule()
    lightning = next(s for s in parsed.sessions if s.key == "s-lightning")
    lightning.start, lightning.end = lightning.start + timedelta(days=1), lightning.end + timedelta(days=1)
    load_schedule(parsed, now=datetime(2026, 4, 7, 9, 30, tzinfo=UTC))

    page = _page(client)

    assert _starred(db, ada) == ["s-lightning"]
    assert [_text(h) for h in page.xpath('//h2[@class="day-heading"]')] == ["Wednesday 8 April 2026"]
    assert _item(page, db, "s-lightning").endswith("Changed: moved from Tue 7 Apr 10:30 to Wed 8 Apr 10:30")


# --- star buttons ----------------------------------------------------------------------------


def test_schedule_shows_my_stars_pressed(client, db, ada):
    _star(db, ada, "s-serving")
    serving = _session(db, "s-serving").code

    page = _page(client, "/schedule?day=2026-04-07")

    pressed = {b.get("data-star"): b.get("aria-pressed") for b in page.xpath("//section[@class='slot']//button[@data-star]")}
    assert pressed == {_session(db, k).code: "false" for k in ("s-keynote", "s-compilers", "s-lightning", "s-break")} | {serving: "true"}
    form = page.xpath(f"//section[@class='slot']//button[@data-star='{serving}']/..")[0]
    assert (form.get("method"), form.get("action")) == ("post", f"/agenda/unstar/{serving}")


def test_signed_out_star_buttons_lead_to_sign_in_and_back(client, db):
    load_schedule()
    code = _session(db, "s-keynote").code

    for path in (f"/sessions/{code}", "/rooms/master-stage"):
        page = _page(client, path)
        form = page.xpath(f"//button[@data-star='{code}']/..")[0]
        assert (form.get("method"), form.get("action"), form.xpath(".//input[@name='next']/@value")) == ("get", "/sign-in", [path])
        assert form.xpath(".//button/@aria-pressed") == ["false"]


def test_star_form_stars_and_unstars_then_goes_back(client, db, ada):
    code = _session(db, "s-keynote").code

    starred = client.post(f"/agenda/star/{code}", data={"csrf_token": ada.csrf, "next": "/schedule?day=2026-04-07"})
    twice = client.post(f"/agenda/star/{code}", data={"csrf_token": ada.csrf, "next": "//evil.example/"})
    assert (starred.status_code, starred.headers["Location"]) == (303, "/schedule?day=2026-04-07")
    assert twice.headers["Location"] == f"/sessions/{code}"
    assert _starred(db, ada) == ["s-keynote"]

    unstarred = client.post(f"/agenda/unstar/{code}", data={"csrf_token": ada.csrf, "next": "/agenda"})
    assert (unstarred.status_code, unstarred.headers["Location"]) == (303, "/agenda")
    assert _starred(db, ada) == []
    assert client.post("/agenda/star/NOPE42", data={"csrf_token": ada.csrf}).status_code == 404


# --- sharing ---------------------------------------------------------------------------------


def _share(client, ada, on: bool) -> None:
    response = client.post("/agenda/share", data={"csrf_token": ada.csrf, "share": "on" if on else "off"})
    assert (response.status_code, response.headers["Location"]) == (303, "/agenda#share")


def test_shared_agenda_shows_first_name_and_sessions_only(app, client, db, ada):
    _star(db, ada, "s-keynote", "s-workshop")
    _share(client, ada, True)
    token = db.scalar(select(AgendaShare.token))
    mine = _page(client)
    assert mine.xpath('//a[@class="share-link"]/@href') == [f"http://localhost/agenda/shared/{token}"]
    assert mine.xpath('//img[@class="share-qr"]/@src') == [f"/agenda/shared/{token}/qr.svg"]
    assert mine.xpath('//button[@role="switch"]/@aria-checked') == ["true"]

    visitor = app.test_client()
    response = visitor.get(f"/agenda/shared/{token}")
    body = response.get_data(as_text=True)
    page = lxml.html.fromstring(body)

    assert response.status_code == 200
    assert _text(page.xpath("//h1")[0]) == "Marie’s agenda"
    assert [_text(a) for a in page.xpath("//h3[@class='session-title']/a")] == ["Opening Keynote", "Hands-on: Profiling"]
    for secret in ("marie.curie@example.org", "Curie", "Salomea", ada.badge_token):
        assert secret not in body
    qr = visitor.get(f"/agenda/shared/{token}/qr.svg")
    assert (qr.status_code, qr.mimetype) == (200, "image/svg+xml")


def test_turning_sharing_off_makes_the_link_404_like_a_made_up_one(app, client, db, ada):
    _star(db, ada, "s-keynote")
    _share(client, ada, True)
    token = db.scalar(select(AgendaShare.token))
    _share(client, ada, False)

    visitor = app.test_client()
    off, qr, made_up = (visitor.get(f"/agenda/shared/{token}"), visitor.get(f"/agenda/shared/{token}/qr.svg"),
                        visitor.get("/agenda/shared/made-up-token"))

    assert (off.status_code, qr.status_code, made_up.status_code) == (404, 404, 404)
    assert off.get_data() == made_up.get_data()
    assert "This shared agenda does not exist, or its owner stopped sharing it." in off.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(AgendaShare)) == 0


def test_add_shared_sessions_to_my_agenda(app, client, db, ada):
    _star(db, ada, "s-keynote", "s-workshop")
    _share(client, ada, True)
    token = db.scalar(select(AgendaShare.token))
    grace = make_attendee(email="grace@example.org", name="Grace Hopper").user
    _star(db, grace, "s-keynote")
    other = app.test_client()
    other.environ_base["HTTP_USER_AGENT"] = "companion-tests"
    sign_in(other, grace)
    csrf = csrf_from(other.get(f"/agenda/shared/{token}").get_data(as_text=True))

    response = other.post(f"/agenda/shared/{token}/add", data={"csrf_token": csrf})

    assert (response.status_code, response.headers["Location"]) == (303, "/agenda")
    assert _starred(db, grace) == ["s-keynote", "s-workshop"]


# --- my data ---------------------------------------------------------------------------------


def test_my_data_lists_my_stars_and_links_and_deletion_removes_them(client, db, ada):
    _star(db, ada, "s-workshop", "s-keynote")
    _share(client, ada, True)
    other = make_attendee(email="other@example.org").user
    _star(db, other, "s-break")

    data = json.loads(client.get("/me/data.json").get_data(as_text=True))

    assert data["starred_sessions"] == [
        {"session": _session(db, k).code, "title": t, "start": s, "starred_at": "2026-04-07T09:00:00+00:00"}
        for k, t, s in (("s-keynote", "Opening Keynote", "2026-04-07T07:00:00+00:00"),
                        ("s-workshop", "Hands-on: Profiling", "2026-04-08T07:00:00+00:00"))]
    assert data["agenda_links"] == [{"link": "share link", "created_at": "2026-04-07T09:00:00+00:00"}]

    deleted = client.post("/me/delete", data={"csrf_token": ada.csrf, "confirm_email": "marie.curie@example.org"})
    assert deleted.status_code == 200 and "deleted" in deleted.get_data(as_text=True)
    assert db.scalars(select(Favourite.user_id)).all() == [other.id]
    assert db.scalar(select(func.count()).select_from(AgendaShare)) == 0


# --- companion agenda walking-time(s) --------------------------------------------------------


def test_walking_time_commands_set_and_list(runner, db):
    load_schedule()

    first = runner.invoke(args=["agenda", "walking-time", "Pier 2", "Pier 1", "5"])
    second = runner.invoke(args=["agenda", "walking-time", "Pier 1", "Annex", "12"])
    listed = runner.invoke(args=["agenda", "walking-times"])

    assert (first.exit_code, first.output) == (0, "Pier 1 <-> Pier 2: 5 min\n")
    assert second.exit_code == 0
    assert "warning: no room of the schedule is in a building called 'Annex' (known: Pier 1, Pier 2)" in second.output
    assert listed.output == "Annex <-> Pier 1: 12 min\nPier 1 <-> Pier 2: 5 min\n"
    assert db.scalar(select(func.count()).select_from(WalkingTime)) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["Pier 1", "Pier 1", "5"], "give two different buildings"),
    (["Pier 1", "Pier 2", "121"], "121 is not in the range 0<=x<=120"),
])
def test_walking_time_command_refuses_bad_input(runner, db, args, message):
    result = runner.invoke(args=["agenda", "walking-time", *args])

    assert result.exit_code == 2 and message in result.output
    assert db.scalar(select(func.count()).select_from(WalkingTime)) == 0


def test_walking_times_command_when_none_are_set(runner, db):
    assert runner.invoke(args=["agenda", "walking-times"]).output == (
        "No walking times set. Add one: companion agenda walking-time BUILDING OTHER MINUTES\n")
