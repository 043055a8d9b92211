"""Staff hunt pages: stations (add, edit, switch mode), the rule, CSV import, each day's counts and completers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from sqlalchemy import select

from companion.accounts.models import AuditEvent
from companion.extensions import db as _db
from companion.hunt import charts, codes, importing, services
from companion.hunt.models import HuntRule, Station
from companion.schedule.interchange import ImportProblem
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.badges.support import decode, rasterise_qr_svg
from tests.factories import load_schedule
from tests.hunt.factories import DAY_ONE, DAY_TWO, make_station

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)  # the clock fixture's moment: 11:00 in Paris
HOME = "/staff/hunt"


@pytest.fixture
def conference(db):
    load_schedule()  # Test Conf 2026, Europe/Paris, 7 and 8 April


@pytest.fixture
def staff(client, conference):
    user = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    sign_in(client, user)
    return user


def _doc(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.get_data(as_text=True))


def _texts(response, xpath: str) -> list[str]:
    return [" ".join(node.text_content().split()) for node in _doc(response).xpath(xpath)]


def _rows(response, table: str) -> list[list[str]]:
    return [[" ".join(cell.text_content().split()) for cell in tr.xpath("th|td")]
            for tr in _doc(response).xpath(f"//table[@data-table='{table}']/tbody/tr")]


def _csrf(client, path: str = HOME) -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def _stations() -> list[tuple]:
    _db.session.expire_all()
    return [(s.name, s.location, s.description, s.active_days, s.required, s.mode, s.fixed_code is not None)
            for s in _db.session.scalars(select(Station).order_by(Station.position))]


def _audit() -> list[tuple]:
    _db.session.expire_all()
    return [(e.actor_id, e.action, e.subject, e.details)
            for e in _db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("hunt.%")).order_by(AuditEvent.id))]


# --- access ---------------------------------------------------------------------------------


def _staff_routes(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("hunt_staff."):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule))
    return sorted(found)


def test_the_staff_pages_are_these(app):
    assert _staff_routes(app) == [
        ("GET", "/staff/hunt"),
        ("GET", "/staff/hunt/days/<day>"),
        ("GET", "/staff/hunt/days/<day>/completers.csv"),
        ("GET", "/staff/hunt/import"),
        ("GET", "/staff/hunt/import/<token>"),
        ("GET", "/staff/hunt/stations/<code>"),
        ("GET", "/staff/hunt/stations/<code>/print"),
        ("GET", "/staff/hunt/stations/<code>/qr.svg"),
        ("GET", "/staff/hunt/stations/new"),
        ("POST", "/staff/hunt/import"),
        ("POST", "/staff/hunt/import/<token>/apply"),
        ("POST", "/staff/hunt/import/<token>/cancel"),
        ("POST", "/staff/hunt/offline-grace"),
        ("POST", "/staff/hunt/rule"),
        ("POST", "/staff/hunt/stations/<code>"),
        ("POST", "/staff/hunt/stations/<code>/mode"),
        ("POST", "/staff/hunt/stations/new"),
    ]


@pytest.mark.parametrize("who", ["attendee", "booth"])
def test_every_staff_route_refuses_attendees_and_booth_accounts(app, client, conference, who):
    station = make_station("Acme AI", mode="fixed")
    person = make_attendee().user if who == "attendee" else make_user(role="booth", booth_code=station.code)
    sign_in(client, person)
    csrf = csrf_from(client.get("/me").get_data(as_text=True))
    before = (_stations(), _audit())
    statuses = {}

    for method, rule in _staff_routes(app):
        url = (rule.replace("<code>", station.code).replace("<day>", "2026-04-07")
               .replace("<token>", "A" * 32))
        data = {"csrf_token": csrf, "mode": "rotating", "confirm": "1", "name": "Hacked", "days": "2026-04-07",
                "stamps_needed": "1", "offline_grace_minutes": "240"} if method == "POST" else None
        statuses[f"{method} {rule}"] = client.open(url, method=method, data=data).status_code

    assert set(statuses.values()) == {403}, statuses
    assert (_stations(), _audit()) == before


def test_the_staff_home_links_the_hunt(client, staff):
    page = client.get("/staff/")

    assert _doc(page).xpath("//a[text()='Scavenger hunt']/@href") == ["/staff/hunt"]


# --- the overview ---------------------------------------------------------------------------


def test_overview_lists_stations_booth_staff_and_marks_fixed_codes_weaker(client, staff):
    acme = make_station("Acme AI", days=[DAY_ONE, DAY_TWO], required=True)
    globex = make_station("Globex", mode="fixed", location=None)
    make_user(email="bob@acme.example", name="Bob Booth", role="booth", booth_code=acme.code)
    make_user(email="eve@acme.example", name="Eve Booth", role="booth", booth_code=acme.code)
    make_user(email="lost@booth.example", name="Lost", role="booth", booth_code="NOPE42")

    page = client.get(HOME)
    doc = _doc(page)

    def facts(code: str) -> list[str]:
        return [" ".join(dd.text_content().split()) for dd in doc.xpath(f"//li[@data-station='{code}']//dd")]

    assert (page.status_code, page.headers["Cache-Control"]) == (200, "no-store")
    assert _texts(page, "//ul[@data-stations]/li/h3") == ["Acme AI", "Globex"]
    assert facts(acme.code) == [acme.code, "Expo hall, booth B12", "Tue 7 Apr, Wed 8 Apr", "Yes",
                                "Rotating, on the booth's screen",
                                "Bob Booth (bob@acme.example), Eve Booth (eve@acme.example)"]
    assert facts(globex.code) == [globex.code, "–", "Tue 7 Apr", "No",
                                  "Fixed printed code (weaker: a photo of the printed code works for anyone) · Print it",
                                  f"none yet: give booth accounts the booth code {globex.code}"]
    assert _texts(page, "//*[@data-unlinked]") == [
        "Booth accounts whose booth code is no station's (they cannot show a code or stamp): "
        "lost@booth.example (booth code NOPE42)."]
    assert _texts(page, "//*[@data-stamps-needed]") == ["5"]
    assert doc.xpath("//*[@data-day-links]/a/@href") == ["/staff/hunt/days/2026-04-07", "/staff/hunt/days/2026-04-08"]


def test_overview_counts_completions_per_day(client, staff):
    acme, globex = make_station("Acme AI", days=[DAY_ONE, DAY_TWO]), make_station("Globex", days=[DAY_ONE, DAY_TWO])
    services.set_stamps_needed(2, now=NOW)
    people = [make_attendee().user for _ in range(3)]
    for user in people:  # all three complete day one
        for station in (acme, globex):
            services.record_stamp(user, station, now=NOW, zone=PARIS, method="code")
    services.record_stamp(people[0], acme, now=NOW + timedelta(days=1), zone=PARIS, method="code")
    _db.session.commit()

    page = client.get(HOME)
    chart = _doc(page).xpath("//img[@data-completions-chart]")[0]

    assert _rows(page, "completions") == [["Tue 7 Apr", "3"], ["Wed 8 Apr", "0"]]
    assert chart.get("alt") == "Completed cards per day: Tue 7 Apr: 3, Wed 8 Apr: 0."
    assert chart.get("src").startswith("data:image/svg+xml;base64,")


# --- the rule -------------------------------------------------------------------------------


def test_rule_change_is_saved_and_audited(client, staff):
    response = client.post(f"{HOME}/rule", data={"csrf_token": _csrf(client), "stamps_needed": "3"})

    assert (response.status_code, urlsplit(response.headers["Location"]).path) == (303, HOME)
    assert [(r.id, r.stamps_needed) for r in _db.session.scalars(select(HuntRule))] == [(1, 3)]
    assert _audit() == [(staff.id, "hunt.rule", None, {"old": 5, "new": 3})]
    assert _texts(client.get(HOME), "//*[@data-stamps-needed]") == ["3"]


@pytest.mark.parametrize("value", ["0", "1001", "three", ""])
def test_rule_refuses_a_bad_number_and_changes_nothing(client, staff, value):
    response = client.post(f"{HOME}/rule", data={"csrf_token": _csrf(client), "stamps_needed": value})

    assert response.status_code == 400
    assert _texts(response, "//*[@data-form-error]")[0].startswith("Nothing was changed.")
    assert list(_db.session.scalars(select(HuntRule))) == []
    assert _audit() == []


def test_offline_grace_change_is_saved_audited_and_shown(client, staff):
    response = client.post(f"{HOME}/offline-grace", data={"csrf_token": _csrf(client), "offline_grace_minutes": "0"})

    assert (response.status_code, urlsplit(response.headers["Location"]).path) == (303, HOME)
    assert [(r.id, r.stamps_needed, r.offline_grace_minutes) for r in _db.session.scalars(select(HuntRule))] == [(1, 5, 0)]
    assert _audit() == [(staff.id, "hunt.offline_grace", None, {"old": 15, "new": 0})]
    page = client.get(HOME)
    assert _texts(page, "//*[@data-offline-grace]") == ["0"]
    assert _doc(page).xpath("//input[@name='offline_grace_minutes']/@value") == ["0"]


@pytest.mark.parametrize("value", ["-1", "241", "ten", ""])
def test_offline_grace_refuses_a_bad_number_and_changes_nothing(client, staff, value):
    response = client.post(f"{HOME}/offline-grace", data={"csrf_token": _csrf(client), "offline_grace_minutes": value})

    assert response.status_code == 400
    assert _texts(response, "//*[@data-form-error]")[0].startswith("Nothing was changed.")
    assert list(_db.session.scalars(select(HuntRule))) == []
    assert _audit() == []


# --- adding, editing, switching -------------------------------------------------------------


def test_new_station_form_offers_the_conference_days(client, staff):
    page = client.get(f"{HOME}/stations/new")
    doc = _doc(page)

    assert doc.xpath("//input[@name='days']/@value") == ["2026-04-07", "2026-04-08"]
    assert doc.xpath("//input[@name='days']/@checked") == ["checked", "checked"]
    assert doc.xpath("//input[@name='mode']/@value") == ["rotating", "fixed"]


def test_add_station_makes_the_exact_row_and_audits_it(client, staff):
    response = client.post(f"{HOME}/stations/new", data={
        "csrf_token": _csrf(client), "name": "  Acme AI ", "location": "Pier 2, booth 7",
        "description": "Inference chips.", "days": ["2026-04-08"], "required": "y", "mode": "fixed"})

    station = _db.session.scalars(select(Station)).one()
    assert (response.status_code, urlsplit(response.headers["Location"]).path) == (303, HOME)
    assert _stations() == [("Acme AI", "Pier 2, booth 7", "Inference chips.", [DAY_TWO], True, "fixed", True)]
    assert len(station.code) == 6
    assert _audit() == [(staff.id, "hunt.station.add", station.code, {
        "name": "Acme AI", "location": "Pier 2, booth 7", "days": ["2026-04-08"], "required": True, "mode": "fixed"})]


@pytest.mark.parametrize(("values", "message"), [
    ({"name": ""}, "The station needs a name of 1 to 200 characters."),
    ({"days": []}, "Choose at least one day on which the station is part of the hunt."),
    ({"days": ["2026-04-09"]}, "Choose days of the conference only."),
    ({"days": ["7 April"]}, "Choose days of the conference only."),
    ({"mode": "sometimes"}, "A station's code is either rotating (on a screen) or fixed (printed)."),
])
def test_add_station_refusals_change_nothing(client, staff, values, message):
    data = {"csrf_token": _csrf(client), "name": "Acme AI", "days": ["2026-04-07"], "mode": "rotating", **values}

    response = client.post(f"{HOME}/stations/new", data=data)

    assert response.status_code == 400
    assert _texts(response, "//*[@data-form-error]") == [f"Nothing was saved. {message}"]
    assert _stations() == []
    assert _audit() == []


def test_edit_station_saves_and_audits_what_changed(client, staff):
    acme = make_station("Acme AI", days=[DAY_ONE])
    page = client.get(f"{HOME}/stations/{acme.code}")
    assert _doc(page).xpath("//input[@name='name']/@value") == ["Acme AI"]
    assert _doc(page).xpath("//input[@name='days'][@checked]/@value") == ["2026-04-07"]

    response = client.post(f"{HOME}/stations/{acme.code}", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "name": "Acme AI", "location": "Pier 1",
        "description": "", "days": ["2026-04-07", "2026-04-08"], "required": "y"})

    assert response.status_code == 303
    assert _stations() == [("Acme AI", "Pier 1", None, [DAY_ONE, DAY_TWO], True, "rotating", False)]
    assert _audit() == [(staff.id, "hunt.station.update", acme.code, {"changes": {
        "location": ["Expo hall, booth B12", "Pier 1"], "days": [["2026-04-07"], ["2026-04-07", "2026-04-08"]],
        "required": [False, True]}})]


def test_edit_of_an_unknown_station_is_404(client, staff):
    assert client.get(f"{HOME}/stations/NOSUCH").status_code == 404


def test_mode_switch_asks_first_then_switches_and_audits(client, staff):
    acme = make_station("Acme AI")
    csrf = _csrf(client, f"{HOME}/stations/{acme.code}")

    asked = client.post(f"{HOME}/stations/{acme.code}/mode", data={"csrf_token": csrf, "mode": "fixed"})
    unchanged = _stations()
    confirm = _doc(asked).xpath("//form[contains(@action, '/mode')]")[0]
    done = client.post(f"{HOME}/stations/{acme.code}/mode", data={
        "csrf_token": csrf, "mode": confirm.xpath(".//input[@name='mode']/@value")[0],
        "confirm": confirm.xpath(".//input[@name='confirm']/@value")[0]})

    assert asked.status_code == 200
    assert _texts(asked, "//h1") == ["Switch to a fixed printed code?"]
    assert _texts(asked, "//form//button") == ["Yes, switch to a fixed code"]
    assert unchanged == [("Acme AI", "Expo hall, booth B12", None, [DAY_ONE], False, "rotating", False)]
    assert (done.status_code, urlsplit(done.headers["Location"]).path) == (303, f"{HOME}/stations/{acme.code}")
    assert _stations() == [("Acme AI", "Expo hall, booth B12", None, [DAY_ONE], False, "fixed", True)]
    assert _audit() == [(staff.id, "hunt.station.mode", acme.code, {"old": "rotating", "new": "fixed"})]
    assert _texts(client.get(f"{HOME}/stations/{acme.code}"), "//*[@data-mode='fixed']") == [
        "Fixed printed code. Weaker: a photo of the printed code works for anyone. Print it"]


def test_mode_switch_to_the_same_mode_changes_nothing(client, staff):
    acme = make_station("Acme AI")
    csrf = _csrf(client)

    response = client.post(f"{HOME}/stations/{acme.code}/mode", data={"csrf_token": csrf, "mode": "rotating",
                                                                        "confirm": "1"})

    assert response.status_code == 303
    assert _audit() == []


def test_printable_code_of_a_fixed_station(client, staff):
    globex, acme = make_station("Globex", mode="fixed"), make_station("Acme AI")

    page = client.get(f"{HOME}/stations/{globex.code}/print")
    svg = client.get(f"{HOME}/stations/{globex.code}/qr.svg")
    rotating = client.get(f"{HOME}/stations/{acme.code}/print")

    printed = codes.fixed_code(globex.code, globex.fixed_code)
    assert page.status_code == 200
    assert _texts(page, "//*[@data-fixed-code]") == [printed]
    assert decode(rasterise_qr_svg(svg.get_data(as_text=True))) == [f"http://localhost/h/{printed}"]
    assert rotating.status_code == 409


# --- CSV import -----------------------------------------------------------------------------


GOOD_CSV = (
    "name,location,description,days,required,mode\n"
    "Acme AI,\"Expo hall, booth B12\",Inference chips,2026-04-07 2026-04-08,yes,rotating\n"
    "Globex,Pier 2,,all,no,fixed\n"
    "Initech,,,2026-04-08,,\n"
)


def _upload(client, text: str, filename: str = "stations.csv"):
    from io import BytesIO

    return client.post(f"{HOME}/import", data={"csrf_token": _csrf(client, f"{HOME}/import"),
                                               "file": (BytesIO(text.encode()), filename)},
                       content_type="multipart/form-data")


def test_import_checks_then_adds_every_row_and_audits(client, staff):
    uploaded = _upload(client, GOOD_CSV)
    check_url = urlsplit(uploaded.headers["Location"]).path
    check = client.get(check_url)
    before_apply = _stations()
    applied = client.post(f"{check_url}/apply", data={"csrf_token": csrf_from(check.get_data(as_text=True))})

    assert uploaded.status_code == 303
    assert _texts(check, "//*[@data-all-valid]") == ["Every row is valid: importing adds 3 stations."]
    assert _rows(check, "stations") == [
        ["2", "Acme AI", "Expo hall, booth B12", "Tue 7 Apr, Wed 8 Apr", "Yes", "Rotating"],
        ["3", "Globex", "Pier 2", "Tue 7 Apr, Wed 8 Apr", "No", "Fixed (weaker)"],
        ["4", "Initech", "–", "Wed 8 Apr", "No", "Rotating"],
    ]
    assert before_apply == []
    assert (applied.status_code, urlsplit(applied.headers["Location"]).path) == (303, HOME)
    assert _stations() == [
        ("Acme AI", "Expo hall, booth B12", "Inference chips", [DAY_ONE, DAY_TWO], True, "rotating", False),
        ("Globex", "Pier 2", None, [DAY_ONE, DAY_TWO], False, "fixed", True),
        ("Initech", None, None, [DAY_TWO], False, "rotating", False),
    ]
    added = [s.code for s in _db.session.scalars(select(Station).order_by(Station.position))]
    assert _audit() == [(staff.id, "hunt.stations.import", "stations.csv", {"stations": added})]
    assert client.get(check_url).status_code == 404  # the upload is gone


def test_import_with_a_bad_row_lists_problems_by_row_and_adds_nothing(client, staff):
    make_station("Acme AI")
    text = (
        "Name;Days;Required;Mode;Notes\n"
        "Acme AI;all;no;rotating;\n"
        "Globex;2026-04-09;maybe;printed;\n"
        "Initech;;no;fixed;\n"
        "Umbrella;all;yes;;x\n"
        "Umbrella;2026-04-07;no;rotating;\n"
        ";7 April;no;rotating;\n"
    )
    check_url = urlsplit(_upload(client, text).headers["Location"]).path
    check = client.get(check_url)
    applied = client.post(f"{check_url}/apply", data={"csrf_token": csrf_from(check.get_data(as_text=True))})

    assert _texts(check, "//*[@data-ignored]") == ["Columns that are not read: Notes."]
    assert _texts(check, "//*[@data-invalid-count]")[0].startswith("5 rows are not valid.")
    assert _rows(check, "problems") == [
        ["2", "a station named 'Acme AI' exists already"],
        ["3", "days: 2026-04-09 is not a day of the conference (2026-04-07 to 2026-04-08); "
              "required: 'maybe' is neither yes nor no; mode: 'printed' is neither rotating nor fixed"],
        ["4", "no days: write the dates (2026-04-07 2026-04-08) or all"],
        ["6", "'Umbrella' is on line 5 already"],
        ["7", "no name; days: '7' is not a date like 2026-04-07 (or write all); "
              "days: 'April' is not a date like 2026-04-07 (or write all)"],
    ]
    assert _doc(check).xpath("//form[contains(@action, '/apply')]") == []
    assert applied.status_code == 409
    assert _texts(applied, "//*[@data-notice]") == ["Nothing was imported: the file has problems."]
    assert [row[0] for row in _stations()] == ["Acme AI"]
    assert _audit() == []


@pytest.mark.parametrize(("text", "problem"), [
    ("", "the file is empty: it needs a header line (name, location, description, days, required, mode) and a line "
         "per station."),
    ("name,location\nAcme AI,Pier 1\n", "line 1: the header has no 'days' column (the columns are: name, location, "
                                         "description, days, required, mode)."),
    ("name,days\n", "the file has a header but no stations."),
    ("name,days,name\nA,all,B\n", "line 1: the column 'name' is there twice."),
])
def test_import_of_an_unusable_file_says_why(client, staff, text, problem):
    check = client.get(urlsplit(_upload(client, text, "bad.csv").headers["Location"]).path)

    assert _texts(check, "//*[@data-file-problem]") == [
        f"bad.csv: {problem} Nothing can be imported: fix the file and upload it again."]
    assert _doc(check).xpath("//form[contains(@action, '/apply')]") == []


def test_import_of_bytes_that_are_not_utf8_says_where(client, staff):
    from io import BytesIO

    response = client.post(f"{HOME}/import", data={
        "csrf_token": _csrf(client, f"{HOME}/import"),
        "file": (BytesIO("name,days\nCafé,all\n".encode("latin-1")), "latin.csv")}, content_type="multipart/form-data")
    check = client.get(urlsplit(response.headers["Location"]).path)

    assert _texts(check, "//*[@data-file-problem]") == [
        "latin.csv: not valid UTF-8 at line 2, column 4: save the file as UTF-8. Nothing can be imported: fix the "
        "file and upload it again."]


def test_import_cancel_forgets_the_file(client, staff):
    check_url = urlsplit(_upload(client, GOOD_CSV).headers["Location"]).path
    csrf = csrf_from(client.get(check_url).get_data(as_text=True))

    cancelled = client.post(f"{check_url}/cancel", data={"csrf_token": csrf})

    assert (cancelled.status_code, urlsplit(cancelled.headers["Location"]).path) == (303, f"{HOME}/import")
    assert client.get(check_url).status_code == 404
    assert _stations() == []


def test_import_of_another_staff_members_upload_is_404(app, client, staff):
    check_url = urlsplit(_upload(client, GOOD_CSV).headers["Location"]).path
    sign_in(client, make_user(role="staff"))

    assert client.get(check_url).status_code == 404


def test_read_stations_is_pure_and_knows_all():
    result = importing.read_stations(b"name,days\nAcme AI,ALL\n", days=[DAY_ONE, DAY_TWO], existing_names=[])

    assert result.ok
    assert result.rows == [importing.StationRow(2, "Acme AI", None, None, (DAY_ONE, DAY_TWO), False, "rotating")]
    with pytest.raises(ImportProblem):
        importing.read_stations(b"name,days\n" + b"A,all\n" * 501, days=[DAY_ONE], existing_names=[])


def test_read_stations_without_conference_days():
    result = importing.read_stations(b"name,days\nAcme AI,all\n", days=[], existing_names=[])

    assert result.problems == [importing.RowProblem(2, "the conference's days are not known yet: import the schedule first")]


# --- a day ----------------------------------------------------------------------------------


def _day_of_stamps():
    """Three stations on day one, two stamps complete a card; completions at 11:20 (Ada) and 11:10 (Grace)."""
    acme, globex = make_station("Acme AI"), make_station("Globex")
    make_station("Initech", days=[DAY_ONE, DAY_TWO])
    services.set_stamps_needed(2, now=NOW)
    ada = make_attendee(name="Ada Lovelace", company="Analytical Engines", email="ada@example.org").user
    grace = make_attendee(name="Grace Hopper", company=None, email="grace@example.org").user
    alan = make_attendee(name="Alan Turing", company="NPL", email="alan@example.org").user
    at = lambda h, m: datetime(2026, 4, 7, h, m, tzinfo=UTC)  # noqa: E731 - UTC; Paris is +2
    for user, station, moment in [(ada, acme, at(9, 5)), (grace, acme, at(9, 6)), (grace, globex, at(9, 10)),
                                  (ada, globex, at(10, 20)), (alan, acme, at(10, 40))]:
        services.record_stamp(user, station, now=moment, zone=PARIS, method="code")
    _db.session.commit()
    return ada, grace, alan


def test_day_page_counts_stamps_per_station_per_hour_and_lists_completers_in_order(client, staff):
    _day_of_stamps()

    page = client.get(f"{HOME}/days/2026-04-07")

    assert (page.status_code, page.headers["Cache-Control"]) == (200, "no-store")
    assert _texts(page, "//dl[@data-figures='day']/dd") == ["3", "5", "2", "2"]
    assert _texts(page, "//table[@data-table='hours']/thead/tr/th") == ["Station", "11:00", "12:00", "Total"]
    assert _rows(page, "hours") == [["Acme AI", "2", "1", "3"], ["Globex", "1", "1", "2"], ["Initech", "0", "0", "0"]]
    assert _rows(page, "completers") == [["1", "Grace Hopper", "–", "11:10:00"],
                                         ["2", "Ada Lovelace", "Analytical Engines", "12:20:00"]]
    assert _doc(page).xpath("//img[@data-hours-chart]/@alt") == [
        "Stamps per station per hour: Acme AI: 11:00 2, 12:00 1; Globex: 11:00 1, 12:00 1; Initech: none."]


def test_completers_csv_is_exact(client, staff):
    _day_of_stamps()

    response = client.get(f"{HOME}/days/2026-04-07/completers.csv")

    assert (response.status_code, response.mimetype, response.headers["Cache-Control"]) == (200, "text/csv", "no-store")
    assert response.headers["Content-Disposition"] == 'attachment; filename="hunt-completers-2026-04-07.csv"'
    assert response.get_data(as_text=True) == (
        "Position,Name,Company,Email,Completed at (Europe/Paris)\r\n"
        "1,Grace Hopper,,grace@example.org,2026-04-07 11:10:00\r\n"
        "2,Ada Lovelace,Analytical Engines,ada@example.org,2026-04-07 12:20:00\r\n")


def test_day_page_of_a_day_without_stamps(client, staff):
    _day_of_stamps()

    page = client.get(f"{HOME}/days/2026-04-08")

    assert _texts(page, "//dl[@data-figures='day']/dd") == ["1", "0", "0", "1"]
    assert _texts(page, "//*[@class='empty-state']") == ["Nobody has completed this day's card yet."]


@pytest.mark.parametrize("day", ["2026-4-7", "2026-02-30", "today"])
def test_day_page_of_no_date_is_404(client, staff, day):
    assert client.get(f"{HOME}/days/{day}").status_code == 404
    assert client.get(f"{HOME}/days/{day}/completers.csv").status_code == 404


def test_station_hours_chart_draws_a_cell_per_station_and_hour():
    per_station = {"Acme AI": Counter({11: 2, 12: 1}), "Globex": Counter()}

    svg = charts.station_hours_chart(per_station)

    assert svg.count("<rect ") == 1 + 2 * 2  # the background, 2 stations x 2 hours
    assert ">11h</text>" in svg and ">12h</text>" in svg
    assert charts.hours_with_stamps(per_station) == [11, 12]
    assert charts.station_hours_chart({}).count("No stamps yet on this day") == 1
    assert charts.completions_chart([(date(2026, 4, 7), 3)]).count("<rect ") == 2
