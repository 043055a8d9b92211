"""The Wi-Fi join payload: escaping, and what a phone camera (zxing-cpp) reads from the printed code."""

from __future__ import annotations

import io

import pytest

from companion.badges.sheets import BadgeFace, SheetInfo, render_badge_sheet
from companion.badges.wifi import escape_wifi_field, wifi_payload
from tests.badges.test_sheets import decode_pages


def test_escape_wifi_field_escapes_the_five_special_characters():
    assert escape_wifi_field('a\\b;c,d:e"f') == 'a\\\\b\\;c\\,d\\:e\\"f'
    assert escape_wifi_field("plain-Net_5GHz é") == "plain-Net_5GHz é"
    assert escape_wifi_field("") == ""


def test_wifi_payload_with_special_characters_is_escaped_exactly():
    assert wifi_payload('My;Net"work', "p\\a:ss,word") == 'WIFI:T:WPA;S:My\\;Net\\"work;P:p\\\\a\\:ss\\,word;;'


def test_wifi_payload_of_an_open_network_has_no_password():
    assert wifi_payload("Guest", None) == "WIFI:T:nopass;S:Guest;;"
    assert wifi_payload("Guest", "") == "WIFI:T:nopass;S:Guest;;"


def test_wifi_payload_needs_a_network_name():
    with pytest.raises(ValueError, match="needs a network name"):
        wifi_payload("", "secret123")


def test_printed_wifi_code_decodes_to_the_exact_escaped_payload():
    info = SheetInfo("Test Conf", "http://127.0.0.1:5000/schedule", 'My;Net"work', "p\\a:ss,word")
    face = BadgeFace("Ada Lovelace", None, None, "http://127.0.0.1:5000/b/abcdefghijklmnopqrstuv")
    out = io.BytesIO()
    render_badge_sheet([face], info, out)

    back = decode_pages(out.getvalue())[1]

    assert [code.text for code in back] == ['WIFI:T:WPA;S:My\\;Net\\"work;P:p\\\\a\\:ss\\,word;;',
                                            "http://127.0.0.1:5000/schedule"]
