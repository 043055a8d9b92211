"""Badge QR codes: what they carry (the badge URL, an opaque token) and that they scan."""

from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image

from companion.badges.qr import qr_png, qr_svg
from tests.accounts.factories import csrf_from, make_user, sign_in
from tests.badges.support import decode, paris, rasterise_qr_svg

PAYLOAD = "https://conf.example.org/b/q3IIY1wnKmUaEGE0RRhMxA"


def test_qr_svg_decodes_to_its_payload():
    svg = qr_svg(PAYLOAD)

    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    assert 'shape-rendering="crispEdges"' in svg and 'width="' not in svg.split(">", 2)[1]
    assert '<rect fill="white" x="0" y="0" width="100%" height="100%"' in svg
    # version 4 (33 modules) plus a quiet zone of 4 modules on each side
    assert 'viewBox="0 0 41 41"' in svg
    assert decode(rasterise_qr_svg(svg)) == [PAYLOAD]


@pytest.mark.parametrize("box_size", [2, 10])
def test_qr_png_decodes_to_its_payload(box_size):
    image = Image.open(io.BytesIO(qr_png(PAYLOAD, box_size)))

    assert image.format == "PNG"
    assert image.size == (41 * box_size, 41 * box_size)
    assert decode(image) == [PAYLOAD]


def test_my_badge_qr_is_the_badge_url(client, db, ada):
    sign_in(client, ada.user)

    response = client.get("/me/badge/qr.svg")

    token = ada.badge_token
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert decode(rasterise_qr_svg(response.text)) == [f"http://localhost/b/{token}"]
    # opaque: 128 random bits, nothing of the person in it
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
    assert len(base64.urlsafe_b64decode(token + "==")) * 8 >= 128
    for part in ("ada", "lovelace", "example", "analytical", "speaker"):
        assert part not in token.lower()
    assert token not in response.headers["ETag"]


def test_my_badge_qr_revalidates_by_etag_until_the_badge_is_reissued(client, db, ada, door):
    sign_in(client, ada.user)
    first = client.get("/me/badge/qr.svg")
    same = client.get("/me/badge/qr.svg", headers={"If-None-Match": first.headers["ETag"]})

    staff = client.application.test_client()
    staff.environ_base["HTTP_USER_AGENT"] = client.environ_base["HTTP_USER_AGENT"]
    sign_in(staff, door)
    page = staff.get(f"/staff/attendees/{ada.id}").text
    staff.post(f"/staff/attendees/{ada.id}/reissue-badge", data={"csrf_token": csrf_from(page)})
    after = client.get("/me/badge/qr.svg", headers={"If-None-Match": first.headers["ETag"]})

    assert same.status_code == 304
    assert after.status_code == 200
    assert after.headers["ETag"] != first.headers["ETag"]
    db.refresh(ada)
    assert decode(rasterise_qr_svg(after.text)) == [f"http://localhost/b/{ada.badge_token}"]


def test_public_url_goes_into_the_qr(app, client, db, ada):
    sign_in(client, ada.user)
    app.config["PUBLIC_URL"] = "https://conf.example.org"
    try:
        svg = client.get("/me/badge/qr.svg").text
    finally:
        app.config["PUBLIC_URL"] = None

    assert decode(rasterise_qr_svg(svg)) == [f"https://conf.example.org/b/{ada.badge_token}"]


def test_my_badge_page_shows_the_person_and_the_qr(client, db, ada):
    sign_in(client, ada.user)

    response = client.get("/me/badge")

    html = response.text
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert '<img class="badge-qr" data-badge-qr src="/me/badge/qr.svg" width="320" height="320"' in html
    assert '<h2 class="badge-name">Ada Lovelace</h2>' in html
    assert "<dt>Company</dt><dd>Analytical Engines</dd>" in html
    assert "<dt>Ticket</dt><dd>Speaker</dd>" in html
    assert "<dd data-check-in-state>Not checked in yet</dd>" in html
    assert ada.badge_token not in html  # the token is only in the QR image


def test_my_badge_page_says_when_the_attendee_was_checked_in(client, db, ada, door, clock):
    clock.set(paris(2026, 4, 7, 9, 12))
    staff = client.application.test_client()
    staff.environ_base["HTTP_USER_AGENT"] = client.environ_base["HTTP_USER_AGENT"]
    sign_in(staff, door)
    page = staff.get(f"/b/{ada.badge_token}").text
    staff.post(f"/b/{ada.badge_token}/check-in", data={"csrf_token": csrf_from(page)})
    sign_in(client, ada.user)

    html = client.get("/me/badge").text

    assert ('<dd data-check-in-state>Checked in at <time datetime="2026-04-07T07:12:00Z">09:12</time>, '
            "Tue 7 Apr, by Sam Door</dd>") in html


def test_my_badge_is_for_attendees(client, db, conference):
    anonymous = client.get("/me/badge/qr.svg")
    sign_in(client, make_user(email="staff.only@example.org", role="staff"))
    staff_without_badge = client.get("/me/badge", headers={"Accept": "text/html"})

    assert (anonymous.status_code, anonymous.headers["Location"]) == (302, "/sign-in?next=/me/badge/qr.svg")
    assert staff_without_badge.status_code == 403
    assert "This is for attendees" in staff_without_badge.text
