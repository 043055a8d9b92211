"""Staff pages: the attendee import in three steps, and accounts and roles."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import lxml.html
import sqlalchemy as sa
from sqlalchemy import select

from companion.accounts.models import Attendee, AuditEvent, User
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.conftest import TEST_USER_AGENT

ROSTER = ("E-mail,First Name,Last Name,Firma,Ticket,Order ID\n"
          "ada@example.org,Ada,Lovelace,Analytical Engines,Conference,R-1\n"
          "grace@example.org,Grace,Hopper,US Navy,Workshop,R-2\n")
IMPORT = "/staff/attendees/import"


def _signed_in(client, role: str | None = "staff", **kwargs) -> User:
    user = make_user(role=role, **kwargs)
    sign_in(client, user)
    return user


def _upload(client, text: str | bytes, delimiter: str = "auto", filename: str = "roster.csv"):
    page = client.get(IMPORT)
    data = text.encode() if isinstance(text, str) else text
    return client.post(IMPORT, data={"csrf_token": csrf_from(page.get_data(as_text=True)), "delimiter": delimiter,
                                     "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def _form_values(html: str, action_suffix: str) -> dict[str, str]:
    """What the form posting to ``...action_suffix`` would send as it stands (selected options included)."""
    form = next(f for f in lxml.html.fromstring(html).forms if f.action.endswith(action_suffix))
    return {name: value for name, value in form.form_values()}


def _through_columns(client, text: str, **changes: str):
    """Upload, then post the columns page's form (with ``changes``) to the check step."""
    uploaded = _upload(client, text)
    columns = client.get(uploaded.headers["Location"])
    values = _form_values(columns.get_data(as_text=True), "/check")
    values.update(changes)
    token = uploaded.headers["Location"].split("/")[-1].split("?")[0]
    return token, client.post(f"{IMPORT}/{token}/check", data=values)


def _stored(app) -> set[str]:
    """The tokens of this page's uploads waiting in instance/uploads (other pages keep theirs there too)."""
    folder = Path(app.instance_path) / "uploads"
    return {meta.stem for meta in folder.glob("*.json") if json.loads(meta.read_text()).get("kind") == "attendee-import"}


def _people(db) -> list[tuple]:
    return db.execute(select(User.email, User.name, Attendee.company, Attendee.ticket_type, Attendee.registration_id)
                      .join(Attendee, Attendee.user_id == User.id).order_by(User.email)).all()


def _preview(response) -> list[list[str]]:
    """The cells of the page's last table (the first rows of the file), header row first."""
    table = lxml.html.fromstring(response.get_data(as_text=True)).findall(".//table")[-1]
    return [[cell.text_content() for cell in row] for row in table.iter("tr")]


def _text(response) -> str:
    return " ".join(lxml.html.fromstring(response.get_data(as_text=True)).text_content().split())


def test_import_in_three_steps_with_a_mapping_change(client, db, app):
    _signed_in(client)

    uploaded = _upload(client, ROSTER)
    token = uploaded.headers["Location"].split("/")[-1].split("?")[0]
    stored = Path(app.instance_path) / "uploads" / token
    columns = client.get(uploaded.headers["Location"])
    values = _form_values(columns.get_data(as_text=True), "/check")

    assert uploaded.status_code == 303
    assert uploaded.headers["Location"] == f"{IMPORT}/{token}?filename=roster.csv&delimiter=auto"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token) and stored.read_text() == ROSTER
    assert {k: v for k, v in values.items() if k.startswith("col_")} == {
        "col_email": "0", "col_name": "", "col_first_name": "1", "col_last_name": "2", "col_company": "",
        "col_ticket_type": "4", "col_registration_id": "5", "col_language": ""}
    assert _preview(columns) == [["Line", "E-mail", "First Name", "Last Name", "Firma", "Ticket", "Order ID"],
                                 ["2", "ada@example.org", "Ada", "Lovelace", "Analytical Engines", "Conference", "R-1"],
                                 ["3", "grace@example.org", "Grace", "Hopper", "US Navy", "Workshop", "R-2"]]

    values["col_company"] = "3"  # "Firma" is no synonym: the organiser maps it
    checked = client.post(f"{IMPORT}/{token}/check", data=values)
    assert checked.status_code == 200
    assert "Every row is valid. Importing would give: added 2, updated 0, unchanged 0, skipped 0." in _text(checked)
    assert db.scalar(select(sa.func.count()).select_from(User)) == 1  # the check rolled back

    done = client.post(f"{IMPORT}/{token}/apply", data=_form_values(checked.get_data(as_text=True), "/apply"))
    assert done.status_code == 200
    assert "added 2, updated 0, unchanged 0, skipped 0" in _text(done)
    assert _people(db) == [("ada@example.org", "Ada Lovelace", "Analytical Engines", "Conference", "R-1"),
                           ("grace@example.org", "Grace Hopper", "US Navy", "Workshop", "R-2")]
    assert db.execute(select(AuditEvent.action, AuditEvent.subject, AuditEvent.details)
                      .where(AuditEvent.action == "attendees.import")).all() == [
        ("attendees.import", "roster.csv", {"added": 2, "updated": 0, "unchanged": 0, "skipped": 0})]
    assert not stored.exists()
    assert client.get(uploaded.headers["Location"]).status_code == 404


def test_one_column_for_two_fields_is_refused_and_columns_can_be_changed_back(client, db):
    _signed_in(client)

    token, refused = _through_columns(client, ROSTER, col_company="0")
    checked = _through_columns(client, ROSTER, col_language="")[1]
    back = client.get(lxml.html.fromstring(checked.get_data(as_text=True)).get_element_by_id("change-columns").get("href"))

    assert refused.status_code == 400
    assert "each column can hold one field only: choose another column or none." in _text(refused)
    assert _form_values(refused.get_data(as_text=True), "/check")["col_company"] == "0"  # shown as chosen
    # The CSRF token is signed with the time in seconds: two pages a second apart carry different ones.
    chosen_back = {k: v for k, v in _form_values(back.get_data(as_text=True), "/check").items() if k != "csrf_token"}
    chosen = {k: v for k, v in _form_values(checked.get_data(as_text=True), "/apply").items() if k != "csrf_token"}
    assert chosen_back == chosen


def test_invalid_rows_need_the_skip_button(client, db):
    _signed_in(client)
    text = ROSTER + "not-an-email,Alan,Turing,NPL,Conference,R-3\ngrace@example.org,Grace,H.,,Conference,R-4\n"

    token, checked = _through_columns(client, text)
    html = checked.get_data(as_text=True)

    assert checked.status_code == 200
    assert "3 rows are not valid." in _text(checked)
    assert re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", html) == [
        ("3", "the email grace@example.org is on more than one line (3, 5)"),
        ("4", "&#39;not-an-email&#39; is not a valid email address: An email address must have an @-sign."),
        ("5", "the email grace@example.org is on more than one line (3, 5)"),
    ]
    assert "Importing would give: added 1, updated 0, unchanged 0, skipped 3." in _text(checked)
    assert '<button type="submit" class="button" name="skip_invalid" value="y">Import, skipping 3 invalid rows</button>' in html

    values = _form_values(html, "/apply")
    refused = client.post(f"{IMPORT}/{token}/apply", data=values)  # without the skip button's value
    assert refused.status_code == 409
    assert "3 rows are not valid: nothing was imported." in _text(refused)
    assert db.scalar(select(sa.func.count()).select_from(Attendee)) == 0

    skipped = client.post(f"{IMPORT}/{token}/apply", data={**values, "skip_invalid": "y"})
    assert skipped.status_code == 200
    assert "added 1, updated 0, unchanged 0, skipped 3" in _text(skipped)
    assert _people(db) == [("ada@example.org", "Ada Lovelace", None, "Conference", "R-1")]


def test_upload_problems_are_shown_on_the_upload_page(client, db, app):
    _signed_in(client)
    before = _stored(app)

    latin1 = _upload(client, "Email,Name\nzoe@example.org,Zoë\n".encode("latin-1"), filename="export.csv")
    no_email = _through_columns(client, "Name,Company\nAda,Engines\n")[1]

    assert latin1.status_code == 400
    assert ("export.csv: not valid UTF-8 at line 2, column 19: save the file as UTF-8. Nothing was imported."
            in _text(latin1))
    assert no_email.status_code == 400
    assert "no email column. The header has: 'Name', 'Company'." in _text(no_email)
    assert len(_stored(app) - before) == 1  # only the readable file was kept


def test_cancel_deletes_the_upload_and_tokens_are_checked(client, db, app):
    _signed_in(client)
    token, checked = _through_columns(client, ROSTER)

    cancelled = client.post(f"{IMPORT}/{token}/cancel", data={"csrf_token": csrf_from(checked.get_data(as_text=True))})
    upload_page = client.get(IMPORT)

    assert cancelled.status_code == 303 and cancelled.headers["Location"] == IMPORT
    assert "Import cancelled: nothing was changed." in _text(upload_page)
    assert token not in _stored(app) and not (Path(app.instance_path) / "uploads" / token).exists()
    assert client.get(f"{IMPORT}/{token}").status_code == 404
    assert client.get(f"{IMPORT}/..%2F..%2Fsecret_key").status_code == 404
    assert client.get(f"{IMPORT}/{'A' * 31}.").status_code == 404
    assert db.scalar(select(sa.func.count()).select_from(Attendee)) == 0


def test_an_upload_is_only_for_the_person_who_made_it(client, db, app):
    _signed_in(client)
    token, checked = _through_columns(client, ROSTER)
    values = _form_values(checked.get_data(as_text=True), "/apply")
    colleague = app.test_client()
    colleague.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT
    _signed_in(colleague, "admin", email="colleague@example.org")
    csrf = csrf_from(colleague.get(IMPORT).get_data(as_text=True))

    columns = colleague.get(f"{IMPORT}/{token}?filename=roster.csv&delimiter=auto")
    check = colleague.post(f"{IMPORT}/{token}/check", data={**values, "csrf_token": csrf})
    apply = colleague.post(f"{IMPORT}/{token}/apply", data={**values, "csrf_token": csrf})
    cancel = colleague.post(f"{IMPORT}/{token}/cancel", data={"csrf_token": csrf})

    assert [r.status_code for r in (columns, check, apply, cancel)] == [404, 404, 404, 404]
    assert "This upload is no longer here" in _text(columns)
    assert db.scalar(select(sa.func.count()).select_from(Attendee)) == 0
    assert token in _stored(app)  # still there for the person who uploaded it
    done = client.post(f"{IMPORT}/{token}/apply", data=values)
    assert done.status_code == 200 and "added 2" in _text(done)
    assert token not in _stored(app)


def test_post_without_csrf_token_is_refused(client, db):
    _signed_in(client)
    token, _ = _through_columns(client, ROSTER)

    refused = client.post(f"{IMPORT}/{token}/apply", data={"col_email": "0", "col_first_name": "1"})

    assert refused.status_code == 400
    assert db.scalar(select(sa.func.count()).select_from(Attendee)) == 0


def test_staff_pages_refuse_attendees_and_anonymous_people(client, db, app):
    anonymous, staff, booth = (app.test_client() for _ in range(3))
    for other in (staff, booth):
        other.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT  # the agent the session is bound to
    attendee = make_attendee()
    sign_in(client, attendee.user)
    _signed_in(staff, "staff")
    _signed_in(booth, "booth", booth_code="B1")

    assert client.get(IMPORT).status_code == 403
    assert client.get("/staff/accounts").status_code == 403
    assert booth.get(IMPORT).status_code == 403
    assert staff.get("/staff/accounts").status_code == 403
    for path in (IMPORT, "/staff/accounts"):
        response = anonymous.get(path)
        assert (response.status_code, response.headers["Location"]) == (302, f"/sign-in?next={path}")


def test_admin_lists_roles_searches_and_changes_a_role(client, db):
    admin = _signed_in(client, "admin", name="Alice Admin")
    make_user(name="Sam Staff", role="staff")
    attendee = make_attendee(name="Bob Example", email="bob@example.org")

    listing = client.get("/staff/accounts")
    found = client.get("/staff/accounts?q=BOB")
    changed = client.post(f"/staff/accounts/{attendee.user_id}/role",
                          data={"csrf_token": csrf_from(found.get_data(as_text=True)), "role": "staff", "q": "BOB"})
    after = client.get(changed.headers["Location"])

    assert re.findall(r"<strong>([^<]+)</strong>", listing.get_data(as_text=True)) == ["Alice Admin", "Sam Staff"]
    assert "2 people with a role" in _text(listing)
    assert "1 person matching “BOB”" in _text(found) and "bob@example.org" in _text(found)
    assert (changed.status_code, changed.headers["Location"]) == (303, "/staff/accounts?q=BOB")
    assert "bob@example.org: role staff." in _text(after)
    assert db.get(User, attendee.user_id).role == "staff"
    assert db.execute(select(AuditEvent.action, AuditEvent.subject, AuditEvent.actor_id, AuditEvent.details)).all() == [
        ("role.set", "bob@example.org", admin.id, {"old": None, "new": "staff", "booth": None})]


def test_admin_cannot_drop_their_own_admin_role(client, db):
    admin = _signed_in(client, "admin")
    page = client.get("/staff/accounts")

    refused = client.post(f"/staff/accounts/{admin.id}/role", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                                    "role": "staff"})

    assert refused.status_code == 400
    assert "You cannot remove your own admin role" in _text(refused)
    assert db.get(User, admin.id).role == "admin"
    assert db.scalar(select(sa.func.count()).select_from(AuditEvent)) == 0


def test_booth_role_needs_a_booth_code(client, db):
    _signed_in(client, "admin")
    person = make_user(email="booth@example.org")
    token = csrf_from(client.get("/staff/accounts").get_data(as_text=True))

    refused = client.post(f"/staff/accounts/{person.id}/role", data={"csrf_token": token, "role": "booth"})
    given = client.post(f"/staff/accounts/{person.id}/role", data={"csrf_token": token, "role": "booth",
                                                                   "booth_code": " ACME "})

    assert refused.status_code == 400
    assert "booth@example.org: a booth account needs the booth it works for." in _text(refused)
    assert given.status_code == 303
    assert (db.get(User, person.id).role, db.get(User, person.id).booth_code) == ("booth", "ACME")


def test_admin_creates_a_staff_account(client, db):
    admin = _signed_in(client, "admin")
    token = csrf_from(client.get("/staff/accounts").get_data(as_text=True))

    created = client.post("/staff/accounts", data={"csrf_token": token, "email": " Door@Example.org ",
                                                   "name": "Door Person", "role": "staff"})
    again = client.post("/staff/accounts", data={"csrf_token": token, "email": "door@example.org",
                                                 "name": "Door Twice", "role": "admin"})

    assert (created.status_code, created.headers["Location"]) == (303, "/staff/accounts")
    assert db.execute(select(User.email, User.name, User.role).where(User.id != admin.id)).all() == [
        ("door@example.org", "Door Person", "staff")]
    assert again.status_code == 400
    assert "door@example.org already has an account" in _text(again)


def test_accounts_are_paginated_by_fifty_and_link_attendee_pages(client, db, app):
    _signed_in(client, "admin", name="A Admin")
    for n in range(50):
        make_user(name=f"Staff {n:02d}", role="staff")
    attendee = make_attendee(name="Zed Attendee", role="staff")

    first = client.get("/staff/accounts").get_data(as_text=True)
    second = client.get("/staff/accounts?page=2").get_data(as_text=True)

    assert first.count('class="account"') == 50 and second.count('class="account"') == 2
    assert "Page 2 of 2" in second and re.findall(r"<strong>([^<]+)</strong>", second) == ["Staff 49", "Zed Attendee"]
    has_attendee_page = any(rule.rule == "/staff/attendees/<int:attendee_id>" for rule in app.url_map.iter_rules())
    assert (f'href="/staff/attendees/{attendee.id}"' in second) == has_attendee_page


def test_staff_home_links_by_role(client, db, app):
    admin = app.test_client()
    admin.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT
    _signed_in(client, "staff")
    _signed_in(admin, "admin")

    staff_links = re.findall(r'<a href="(/staff/[a-z/]+)">', client.get("/staff/").get_data(as_text=True))
    admin_links = re.findall(r'<a href="(/staff/[a-z/]+)">', admin.get("/staff/").get_data(as_text=True))

    assert IMPORT in staff_links and "/staff/accounts" not in staff_links
    assert IMPORT in admin_links and "/staff/accounts" in admin_links
