"""``companion badges print`` and ``companion conference set``, run through the real CLI."""

from __future__ import annotations

import re

from companion.schedule.queries import get_conference
from tests.accounts.factories import make_attendee
from tests.badges.test_sheets import APP_URL, BASE, WIFI, people_and_conference, decode_pages, page_texts
from tests.factories import load_schedule

SUMMARY = re.compile(r"wrote (\d+) badges \((\d+) pages\) to (.+) in \d+\.\d s\n")


def _badge_url(email: str) -> str:
    from companion.badges.sheets import select_attendees

    return f"{BASE}/b/{select_attendees([email])[0][0].badge_token}"


def test_print_writes_everyone_sorted_by_name(runner, db, tmp_path):
    people_and_conference()
    output = tmp_path / "badges.pdf"

    result = runner.invoke(args=["badges", "print", "-o", str(output)])

    assert result.exit_code == 0, result.output
    assert SUMMARY.fullmatch(result.stdout).groups() == ("3", "6", str(output))
    assert re.fullmatch(r"  3/3 badges, \d+ badges/s\n", result.stderr)  # progress at the end
    pages = decode_pages(output.read_bytes())
    assert [[c.text for c in codes] for codes in pages] == [
        [_badge_url("ada@example.org")], [WIFI, APP_URL],
        [_badge_url("lukasz@example.org")], [WIFI, APP_URL],
        [_badge_url("zoe@example.org")], [WIFI, APP_URL],
    ]
    assert not (tmp_path / "badges.pdf.part").exists()


def test_print_only_listed_attendees_and_warn_about_unknown_ones(runner, db, tmp_path):
    people_and_conference()
    listing = tmp_path / "print.txt"
    registration = make_attendee(name="Grace Hopper", email="grace@example.org", registration_id="REG-GRACE")
    listing.write_text("# reprints\nZOE@example.org\n\nREG-GRACE\nghost@example.org\n", encoding="utf-8")
    output = tmp_path / "some.pdf"

    result = runner.invoke(args=["badges", "print", "--attendees", str(listing), "-o", str(output)])

    assert result.exit_code == 0, result.output
    assert f"warning: 1 entry matches no attendee in {listing}, skipped: ghost@example.org\n" in result.stderr
    assert SUMMARY.fullmatch(result.stdout).groups() == ("2", "4", str(output))
    pages = decode_pages(output.read_bytes(), pages=[0, 2])
    assert [[c.text for c in codes] for codes in pages] == [
        [f"{BASE}/b/{registration.badge_token}"], [_badge_url("zoe@example.org")]]


def test_print_from_a_csv_with_an_email_column_on_letter(runner, db, tmp_path):
    people_and_conference()
    listing = tmp_path / "export.csv"
    listing.write_text("Name;E-Mail;Ticket\nZoë Ünal;zoe@example.org;Speaker\nAda;ada@example.org;\n", encoding="utf-8-sig")
    output = tmp_path / "letter.pdf"

    result = runner.invoke(args=["badges", "print", "--attendees", str(listing), "--layout", "letter-4x3",
                                 "-o", str(output)])

    assert result.exit_code == 0, result.output
    assert SUMMARY.fullmatch(result.stdout).groups() == ("2", "2", str(output))
    pages = decode_pages(output.read_bytes())
    assert [c.text for c in pages[0]] == [_badge_url("ada@example.org"), _badge_url("zoe@example.org")]
    assert [c.text for c in pages[1]] == [WIFI, APP_URL, WIFI, APP_URL]
    assert "Zoë Ünal" in page_texts(output.read_bytes())[0]


def test_print_refuses_a_csv_without_an_email_column(runner, db, tmp_path):
    make_attendee(email="ada@example.org")
    listing = tmp_path / "bad.csv"
    listing.write_text("name,company\nAda,Engines\n", encoding="utf-8")
    output = tmp_path / "never.pdf"

    result = runner.invoke(args=["badges", "print", "--attendees", str(listing), "-o", str(output)])

    assert result.exit_code == 1
    assert result.stderr == (f"Error: {listing}: a CSV file needs an email column; its columns are name, company. "
                             "Or give one email or registration id per line.\n")
    assert not output.exists()


def test_print_refuses_an_oversized_or_missing_list(runner, db, tmp_path, monkeypatch):
    from companion.badges import cli

    make_attendee(email="ada@example.org")
    monkeypatch.setattr(cli, "MAX_LIST_BYTES", 20)
    listing = tmp_path / "long.txt"
    listing.write_text("ada@example.org\n" * 2, encoding="utf-8")
    output = tmp_path / "never.pdf"

    too_large = runner.invoke(args=["badges", "print", "--attendees", str(listing), "-o", str(output)])
    missing = runner.invoke(args=["badges", "print", "--attendees", str(tmp_path / "gone.txt"), "-o", str(output)])

    assert too_large.exit_code == 1
    assert too_large.stderr == f"Error: {listing}: 32 bytes is too large for a list of attendees.\n"
    assert missing.exit_code == 1
    assert missing.stderr == f"Error: {tmp_path / 'gone.txt'}: cannot read the file (No such file or directory).\n"
    assert not output.exists()


def test_print_without_attendees_is_an_error(runner, db, tmp_path):
    output = tmp_path / "empty.pdf"

    result = runner.invoke(args=["badges", "print", "-o", str(output)])

    assert result.exit_code == 1
    assert result.stderr == "Error: no attendees to print: import the attendees first.\n"
    assert not output.exists()


def test_print_reports_progress_every_100_badges(runner, db, tmp_path):
    load_schedule()
    for n in range(101):
        make_attendee(name=f"Person {n:03d}", email=f"p{n}@example.org")
    output = tmp_path / "many.pdf"

    result = runner.invoke(args=["badges", "print", "-o", str(output)])

    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if "badges/s" in line]
    assert [line.split(",")[0] for line in progress] == ["  100/101 badges", "  101/101 badges"]
    assert all(re.fullmatch(r"  \d+/101 badges, \d+ badges/s", line) for line in progress)
    assert SUMMARY.fullmatch(result.stdout).groups() == ("101", "202", str(output))


# --- companion conference set -------------------------------------------------------------------


def test_conference_set_needs_an_imported_conference(runner, db):
    result = runner.invoke(args=["conference", "set", "--wifi-ssid", "ConfNet"])

    assert result.exit_code == 1
    assert result.stderr == ("Error: no conference yet: import the schedule first (companion schedule import FILE), "
                             "then set its venue and Wi-Fi.\n")


def test_conference_set_stores_venue_and_wifi(runner, db):
    load_schedule()

    result = runner.invoke(args=["conference", "set", "--venue-name", " Station F ", "--venue-address",
                                 "5 Parvis Alan Turing, Paris", "--wifi-ssid", 'Conf;Net"5G', "--wifi-password",
                                 "p\\a:ss,word"])

    assert result.exit_code == 0, result.output
    assert result.stdout == ("venue name: Station F\nvenue address: 5 Parvis Alan Turing, Paris\n"
                             'wifi ssid: Conf;Net"5G\nwifi password: set (11 characters)\n')
    db.expire_all()
    conference = get_conference()
    assert (conference.venue_name, conference.venue_address, conference.wifi_ssid, conference.wifi_password) == (
        "Station F", "5 Parvis Alan Turing, Paris", 'Conf;Net"5G', "p\\a:ss,word")


def test_conference_set_clears_with_an_empty_value_and_warns_about_short_passwords(runner, db):
    load_schedule()
    runner.invoke(args=["conference", "set", "--wifi-ssid", "ConfNet", "--wifi-password", "longenough"])

    cleared = runner.invoke(args=["conference", "set", "--wifi-ssid", ""])
    short = runner.invoke(args=["conference", "set", "--wifi-ssid", "Guest", "--wifi-password", "short"])

    assert cleared.exit_code == 0
    assert cleared.stdout == "wifi ssid: (cleared)\n"
    assert cleared.stderr == "warning: a Wi-Fi password without a network name is not printed; set --wifi-ssid too.\n"
    assert short.exit_code == 0
    assert short.stderr == "warning: a WPA2 password has 8 to 63 characters; this one has 5: check it before printing\n"
    db.expire_all()
    assert (get_conference().wifi_ssid, get_conference().wifi_password) == ("Guest", "short")


def test_conference_set_refuses_an_ssid_over_32_bytes(runner, db):
    load_schedule()

    result = runner.invoke(args=["conference", "set", "--wifi-ssid", "Ü" * 17])

    assert result.exit_code == 2
    assert "Invalid value for --wifi-ssid: a Wi-Fi network name is at most 32 bytes; this one is 34" in result.stderr
    db.expire_all()
    assert get_conference().wifi_ssid is None


def test_conference_set_without_options_is_a_usage_error(runner, db):
    result = runner.invoke(args=["conference", "set"])

    assert result.exit_code == 2
    assert "nothing to set: give at least one of --venue-name" in result.stderr
