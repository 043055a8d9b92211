"""Sign-in by link over a real SMTP server, staff passwords, sign-out everywhere."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import select

from companion.accounts.models import SignInToken, User
from companion.accounts.tokens import token_hash
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.mailserver import first_link


def _ask_for_link(client, email: str):
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"email": email, "csrf_token": csrf_from(page.get_data(as_text=True))})


def _use_link(client, link: str):
    path = urlsplit(link).path
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def test_sign_in_link_arrives_by_smtp_and_works_once(client, db, mailbox, clock):
    attendee = make_attendee(email="ada@example.org", name="Ada Lovelace")

    answer = _ask_for_link(client, "  ADA@Example.org ")
    message = mailbox.wait_for("ada@example.org")
    link = first_link(message)
    signed_in = _use_link(client, link)

    assert answer.status_code == 200
    assert "If <strong>ADA@Example.org</strong> is registered" in answer.get_data(as_text=True)
    assert message["Subject"] == "Your sign-in link for Conference Companion"
    assert link.startswith("http://localhost/sign-in/")
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/me/badge"
    assert client.get("/me").get_data(as_text=True).count("ada@example.org") == 1
    stored = db.scalars(select(SignInToken)).one()
    assert stored.token_hash == token_hash(urlsplit(link).path.rsplit("/", 1)[1])
    assert stored.used_at == clock.moment
    assert db.get(User, attendee.user_id).last_sign_in_at == clock.moment

    other_device = client.application.test_client()
    reused = _use_link(other_device, link)
    assert reused.status_code == 400
    assert "already been used" in reused.get_data(as_text=True)


def test_sign_in_link_expires_after_15_minutes(client, db, mailbox, clock):
    make_attendee(email="grace@example.org")
    _ask_for_link(client, "grace@example.org")
    link = first_link(mailbox.wait_for("grace@example.org"))

    clock.set(clock.moment + timedelta(minutes=15, seconds=1))
    expired = _use_link(client, link)

    assert expired.status_code == 400
    assert "expired (links work for 15 minutes)" in expired.get_data(as_text=True)
    assert client.get("/me").status_code == 302


def test_forged_link_gets_a_clear_page(client, db):
    forged = _use_link(client, "http://localhost/sign-in/" + "A" * 43)

    assert forged.status_code == 400
    assert "This sign-in link is not valid" in forged.get_data(as_text=True)


def test_unknown_address_gets_the_same_answer_and_no_mail(client, db, mailbox):
    make_attendee(email="known@example.org")

    known = _ask_for_link(client, "known@example.org").get_data(as_text=True)
    unknown = _ask_for_link(client, "nobody@example.org").get_data(as_text=True)

    assert known.replace("known@example.org", "X") == unknown.replace("nobody@example.org", "X")
    mailbox.wait_for("known@example.org")
    assert mailbox.to("nobody@example.org") == []
    assert db.scalar(select(sa.func.count()).select_from(SignInToken)) == 1


def test_sign_in_requests_are_rate_limited_per_address(client, db, mailbox):
    make_attendee(email="busy@example.org")

    statuses = [_ask_for_link(client, "busy@example.org").status_code for _ in range(6)]

    assert statuses == [200, 200, 200, 200, 200, 429]
    assert len(mailbox.to("busy@example.org")) == 5


def test_one_venue_address_may_ask_for_many_links_up_to_the_setting(app, client, db, mailbox):
    """A venue's Wi-Fi puts everyone behind one address: with SIGN_IN_RATE_LIMIT at 40 an hour, 40
    different people there all get their link, and only the 41st request from the address waits."""
    for n in range(41):
        make_attendee(email=f"person{n}@example.org")
    app.config["SIGN_IN_RATE_LIMIT"] = "40 per hour"
    try:
        statuses = [_ask_for_link(client, f"person{n}@example.org").status_code for n in range(41)]
    finally:
        app.config["SIGN_IN_RATE_LIMIT"] = "600 per hour"

    assert statuses == [200] * 40 + [429]
    mailbox.wait_for("person39@example.org")
    assert [len(mailbox.to(f"person{n}@example.org")) for n in (0, 39, 40)] == [1, 1, 0]


def test_staff_password_sign_in(client, db):
    make_user(email="door@example.org", role="staff", password="correct horse battery")
    page = client.get("/staff/sign-in").get_data(as_text=True)

    wrong = client.post("/staff/sign-in", data={"email": "door@example.org", "password": "wrong password!",
                                                "csrf_token": csrf_from(page)})
    right = client.post("/staff/sign-in", data={"email": "DOOR@example.org", "password": "correct horse battery",
                                                "csrf_token": csrf_from(page)})

    assert wrong.status_code == 400
    assert "That email address and password do not match." in wrong.get_data(as_text=True)
    assert (right.status_code, right.headers["Location"]) == (302, "/staff/")
    stored = db.scalars(select(User.password_hash).where(User.email == "door@example.org")).one()
    assert stored.startswith("scrypt:")


def test_sign_out_everywhere_ends_other_sessions(client, db):
    user = make_attendee(email="lost.phone@example.org").user
    phone = client.application.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = client.environ_base["HTTP_USER_AGENT"]
    sign_in(phone, user)
    sign_in(client, user)
    assert phone.get("/me").status_code == 200

    page = client.get("/me").get_data(as_text=True)
    client.post("/sign-out-everywhere", data={"csrf_token": csrf_from(page)})

    assert phone.get("/me").status_code == 302
    assert client.get("/me").status_code == 302
    assert db.get(User, user.id).session_version == 2


def test_forms_without_csrf_token_are_refused(client, db):
    make_attendee(email="csrf@example.org")

    response = client.post("/sign-in", data={"email": "csrf@example.org"})

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert db.scalar(select(sa.func.count()).select_from(SignInToken)) == 0


def test_next_with_a_backslash_never_leaves_the_site(client, db):
    make_user(email="door2@example.org", role="staff", password="correct horse battery")
    page = client.get("/staff/sign-in").get_data(as_text=True)

    answer = client.post("/staff/sign-in?next=/%5Cevil.example", data={
        "email": "door2@example.org", "password": "correct horse battery", "csrf_token": csrf_from(page)})

    assert (answer.status_code, answer.headers["Location"]) == (302, "/staff/")


def test_sign_out_everywhere_also_voids_unused_links(client, db, mailbox):
    user = make_attendee(email="lost@example.org").user
    _ask_for_link(client, "lost@example.org")
    waiting_link = first_link(mailbox.wait_for("lost@example.org"))
    sign_in(client, user)

    page = client.get("/me").get_data(as_text=True)
    client.post("/sign-out-everywhere", data={"csrf_token": csrf_from(page)})
    thief = client.application.test_client()
    answer = _use_link(thief, waiting_link)

    assert answer.status_code == 400
    assert "already been used" in answer.get_data(as_text=True)
