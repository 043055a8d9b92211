"""The raffle over HTTP: the staff desk from set-up to redraw, the public page and proof, the hunt
card's entry line, the projector's state, the audit log and its CSV, and `companion raffle verify`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
from sqlalchemy import select

from companion.extensions import db as _db
from companion.push.models import PushMessage
from companion.raffle.models import Raffle, RaffleEntry, RaffleWinner
from tests.conftest import TEST_USER_AGENT
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.push.factories import make_subscription
from tests.raffle.factories import hunt_station, make_completers

MORNING = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)  # 11:00 in Paris, day one
CUT_OFF = datetime(2026, 4, 7, 13, 40, tzinfo=UTC)  # 15:40
DRAW = datetime(2026, 4, 7, 13, 45, tzinfo=UTC)  # 15:45


@pytest.fixture
def staff(client, conference):
    user = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    sign_in(client, user)
    return user


def _doc(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.get_data(as_text=True))


def _texts(response, xpath: str) -> list[str]:
    return [" ".join(node.text_content().split()) for node in _doc(response).xpath(xpath)]


def _create(client, **fields) -> Raffle:
    form = {"title": "Day one raffle", "prize": "A mechanical keyboard", "day": "2026-04-07", "draw_time": "15:45",
            "claim_place": "the raffle desk in the expo hall", "winners_wanted": "2", "eligibility": "hunt",
            "exclude_past_winners": "y", "claim_minutes": "30", "screen_names": "first_initial", **fields}
    form["csrf_token"] = csrf_from(client.get("/staff/raffles").get_data(as_text=True))
    response = client.post("/staff/raffles", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    return _db.session.scalars(select(Raffle).order_by(Raffle.id.desc())).first()


def _post(client, path: str, **data):
    page = path.rsplit("/", 1)[0] if "/winners/" not in path else path.split("/winners/")[0]
    data["csrf_token"] = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data=data)


def test_desk_runs_a_raffle_from_set_up_to_redraw(app, client, staff, clock):
    people = make_completers(5, station=hunt_station())
    for person in people:  # each winner is told by push
        make_subscription(person)
    clock.set(MORNING)
    raffle = _create(client)
    desk = f"/staff/raffles/{raffle.code}"
    assert (raffle.title, raffle.prize, raffle.draw_at, raffle.winners_wanted, raffle.claim_minutes) == (
        "Day one raffle", "A mechanical keyboard", DRAW, 2, 30)
    assert _texts(client.get(desk), "//*[@data-eligible]") == ["5"]

    clock.set(CUT_OFF)
    assert _post(client, f"{desk}/freeze").status_code == 303
    _db.session.expire_all()
    entries = _db.session.scalars(select(RaffleEntry.entry_code).order_by(RaffleEntry.entry_code)).all()
    assert len(entries) == 5 and raffle.frozen_at == CUT_OFF

    clock.set(DRAW)
    assert _post(client, f"{desk}/draw").status_code == 303
    again = _post(client, f"{desk}/draw")
    assert again.status_code == 409
    assert _texts(again, "//*[@data-desk-error]") == ["Nothing was changed. This raffle has been drawn already. "
                                                     "Use redraw for a prize nobody claimed."]
    _db.session.expire_all()
    winners = _db.session.scalars(select(RaffleWinner).order_by(RaffleWinner.k)).all()
    assert [(w.status, w.claim_by) for w in winners] == [("drawn", DRAW + timedelta(minutes=30))] * 2

    page = client.get(desk)
    assert [tr.get("data-winner") for tr in _doc(page).xpath("//tr[@data-winner]")] == [w.entry.entry_code for w in winners]
    first = winners[0]
    too_early = _post(client, f"{desk}/winners/{first.id}", status="not_claimed")
    assert too_early.status_code == 422
    assert _texts(too_early, "//*[@data-desk-error]") == [
        f"Nothing was changed. {first.entry.entry_code} can claim until 16:15: wait until then before marking the "
        "prize not claimed."]
    assert _post(client, f"{desk}/winners/{winners[1].id}", status="claimed").status_code == 303
    clock.set(DRAW + timedelta(minutes=31))
    assert _post(client, f"{desk}/winners/{first.id}", status="not_claimed").status_code == 303
    assert _post(client, f"{desk}/redraw").status_code == 303
    assert _post(client, f"{desk}/redraw").status_code == 422  # every prize has a winner again

    _db.session.expire_all()
    final = [(w.entry.entry_code, w.status) for w in _db.session.scalars(select(RaffleWinner).order_by(RaffleWinner.k))]
    assert [status for _, status in final] == ["not_claimed", "claimed", "drawn"]
    proof = client.get(f"/api/v1/raffles/{raffle.code}/proof").get_json()
    assert [(w["entry"], w["status"]) for w in proof["winners"]] == final
    assert proof["entries"] == list(entries) and proof["seed"] == raffle.seed

    log = client.get(f"{desk}/log.csv")
    rows = list(csv.DictReader(io.StringIO(log.get_data(as_text=True))))
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("Sam Staff", "raffle.create"), ("Sam Staff", "raffle.freeze"), ("Sam Staff", "raffle.draw"),
        ("Sam Staff", "raffle.claimed"), ("Sam Staff", "raffle.not_claimed"), ("Sam Staff", "raffle.redraw")]
    assert json.loads(rows[2]["details"])["seed"] == raffle.seed
    assert log.headers["Cache-Control"] == "no-store"

    by_k = _db.session.scalars(select(RaffleWinner).order_by(RaffleWinner.k)).all()
    messages = _db.session.scalars(select(PushMessage).order_by(PushMessage.id)).all()
    assert [(m.user_id, m.dedupe_key) for m in messages] == [
        (w.entry.user_id, f"raffle:{raffle.code}:{w.k}") for w in by_k]
    assert json.loads(messages[-1].payload) == {
        "title": "You won: A mechanical keyboard",
        "body": f"Day one raffle. Your entry {by_k[-1].entry.entry_code}: claim your prize at the raffle desk in "
                "the expo hall by 16:46.", "url": "/hunt", "tag": f"raffle:{raffle.code}:{by_k[-1].k}"}


def test_a_small_pool_asks_before_drawing_what_there_is(client, staff, clock):
    make_completers(1, station=hunt_station())
    clock.set(MORNING)
    raffle = _create(client, winners_wanted="3")
    desk = f"/staff/raffles/{raffle.code}"
    _post(client, f"{desk}/freeze")
    asked = _post(client, f"{desk}/draw")
    assert asked.status_code == 422
    assert _texts(asked, "//*[@data-desk-error]") == [
        "Only 1 entry can win, and 3 winners are wanted. Confirm to draw 1."]
    assert _doc(asked).xpath("//button[@data-draw-confirm]") and _db.session.scalar(select(RaffleWinner.id)) is None
    assert _post(client, f"{desk}/draw", confirm="yes").status_code == 303
    assert len(_db.session.scalars(select(RaffleWinner)).all()) == 1


def test_a_bad_field_names_itself_and_creates_nothing(client, staff):
    form = {"title": "", "prize": "Hoodie", "day": "2026-04-07", "draw_time": "15:45", "claim_place": "desk",
            "winners_wanted": "1", "eligibility": "hunt", "claim_minutes": "30", "screen_names": "first_initial"}
    for change, loc in (({"title": ""}, "title"), ({"title": "R", "draw_time": "25:99"}, "draw_time"),
                        ({"title": "R", "day": "2027-01-01"}, "day"), ({"title": "R", "winners_wanted": "0"}, "winners_wanted"),
                        ({"title": "R", "winners_wanted": "many"}, "winners_wanted")):
        data = {**form, **change, "csrf_token": csrf_from(client.get("/staff/raffles").get_data(as_text=True))}
        response = client.post("/staff/raffles", data=data)
        assert response.status_code == 400, change
        assert _doc(response).xpath(f"//*[@id='{loc}-error']"), (change, response.get_data(as_text=True)[:2000])
    assert _db.session.scalar(select(Raffle.id)) is None


def test_an_uploaded_list_is_all_or_nothing(client, staff):
    ada = make_attendee(email="ada@example.org", name="Ada Lovelace", registration_id="REG-ADA").user
    make_attendee(email="bob@example.org", name="Bob Builder")
    raffle = _create(client, eligibility="list")
    desk = f"/staff/raffles/{raffle.code}"
    refused = _post(client, f"{desk}/list", lines="ada@example.org\nnobody@example.org")
    assert refused.status_code == 400
    assert _texts(refused, "//*[@data-desk-error]") == [
        "Nothing was changed. No attendee has this email address or registration id: line 2: nobody@example.org. "
        "Nothing was changed."]
    upload = (io.BytesIO("REG-ADA\nbob@example.org\n".encode()), "list.csv")
    data = {"csrf_token": csrf_from(client.get(desk).get_data(as_text=True)), "file": upload}
    assert client.post(f"{desk}/list", data=data, content_type="multipart/form-data").status_code == 303
    assert _texts(client.get(desk), "//*[@data-list-size]")[0].startswith("2 people are on the list")
    assert _texts(client.get(desk), "//*[@data-eligible]") == ["2"]
    assert ada.id


def test_public_page_and_card_show_the_entry_and_the_win(app, client, staff, clock):
    people = make_completers(3, station=hunt_station())
    clock.set(MORNING)
    raffle = _create(client, winners_wanted="3")
    desk = f"/staff/raffles/{raffle.code}"
    _post(client, f"{desk}/freeze")
    clock.set(DRAW)
    _post(client, f"{desk}/draw")
    _db.session.expire_all()
    code = _db.session.scalar(select(RaffleEntry.entry_code).where(RaffleEntry.user_id == people[0].id))

    public = app.test_client()
    public.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT
    page = public.get(f"/raffles/{raffle.code}")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert _texts(page, "//*[@data-seed]")[0].startswith(raffle.seed)
    assert sorted(_doc(page).xpath("//*[@data-winners]/li/@data-winner")) == sorted(
        _db.session.scalars(select(RaffleEntry.entry_code)).all())
    assert "Person Number0" not in page.get_data(as_text=True)  # pseudonyms only

    sign_in(public, people[0])
    card = public.get("/hunt")
    assert _texts(card, "//*[@data-entry-code]") == [f"Your entry: {code}"]
    assert _texts(card, "//*[@data-raffle-state]") == [
        "You won! Claim your prize at the raffle desk in the expo hall by 16:15; show this entry code."]

    data = public.get("/me/data.json").get_json()
    assert data["raffle_entries"] == [{"raffle": "Day one raffle", "day": "2026-04-07", "entry": code,
                                       "excluded": False, "won": "drawn"}]
    assert data["hunt_stamps"] == [{"station": "Booth 2026-04-07", "day": "2026-04-07",
                                    "stamped_at": "2026-04-07T09:00:00+00:00", "method": "code",
                                    "shared_contact_with_booth": False}]

    state = client.get(f"/staff/raffles/{raffle.code}/screen.json").get_json()
    assert state["state"] == "drawn" and sorted(w["name"] for w in state["winners"]) == [
        "Person N.", "Person N.", "Person N."]


def test_proof_of_an_unknown_raffle_is_a_404_problem(client, conference):
    response = client.get("/api/v1/raffles/NOPE/proof")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "There is no raffle with this code."


def test_verify_command_checks_a_proof_and_names_the_first_tampering(app, client, staff, runner, tmp_path, clock):
    make_completers(4, station=hunt_station())
    clock.set(MORNING)
    raffle = _create(client)
    desk = f"/staff/raffles/{raffle.code}"
    _post(client, f"{desk}/freeze")
    _post(client, f"{desk}/draw")
    proof = client.get(f"/api/v1/raffles/{raffle.code}/proof").get_json()

    ok = runner.invoke(args=["raffle", "verify", raffle.code])
    assert ok.exit_code == 0 and ok.output.startswith("Verified: 4 entries")

    tampered = dict(proof, winners=[dict(proof["winners"][0], entry=[e for e in proof["entries"]
                                                                      if e != proof["winners"][0]["entry"]][0])])
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(tampered))
    bad = runner.invoke(args=["raffle", "verify", str(path)])
    assert bad.exit_code == 1
    expected_k, expected_entry = proof["winners"][0]["k"], proof["winners"][0]["entry"]
    assert bad.output.strip() == (f"NOT VERIFIED: winners[0]: the sequence gives {expected_entry} at k={expected_k}, "
                                  f"the proof says {tampered['winners'][0]['entry']} at k={expected_k}")
    path.write_text(json.dumps(dict(proof, entries=proof["entries"][:-1])))
    assert "NOT VERIFIED: list_hash" in runner.invoke(args=["raffle", "verify", str(path)]).output



def test_verify_command_says_an_open_raffle_has_nothing_to_check_yet(client, staff, runner, clock):
    clock.set(MORNING)
    raffle = _create(client)

    result = runner.invoke(args=["raffle", "verify", raffle.code])

    assert (result.exit_code, result.output.strip()) == (
        1, "NOT VERIFIED: list_hash: not published yet (the entries are not frozen)")
