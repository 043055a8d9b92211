"""``companion conference set``: the venue and Wi-Fi details the schedule files do not carry.

The Wi-Fi network goes on the back of every printed badge (see ``companion badges print``).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from companion import timeutil
from companion.extensions import db
from companion.schedule.queries import get_conference

conference_cli = AppGroup("conference", help="Conference settings: venue and Wi-Fi.")

# Conference attribute (the option's name) -> the longest value its column holds
FIELD_LIMITS = {"venue_name": 200, "venue_address": 500, "wifi_ssid": 100, "wifi_password": 100}
MAX_SSID_BYTES = 32  # IEEE 802.11: an SSID is at most 32 octets


def _check(option: str, value: str) -> list[str]:
    """Reject values the column or Wi-Fi cannot hold; return warnings for unusual ones.

    :raise click.BadParameter: if ``value`` is too long.
    """
    limit = FIELD_LIMITS[option]
    hint = "--" + option.replace("_", "-")
    if len(value) > limit:
        raise click.BadParameter(f"{len(value)} characters is over the limit of {limit}", param_hint=hint)
    if option == "wifi_ssid" and len(value.encode()) > MAX_SSID_BYTES:
        raise click.BadParameter(f"a Wi-Fi network name is at most {MAX_SSID_BYTES} bytes; this one is "
                                 f"{len(value.encode())}", param_hint=hint)
    if option == "wifi_password" and value and not 8 <= len(value) <= 63:
        return [f"a WPA2 password has 8 to 63 characters; this one has {len(value)}: check it before printing"]
    return []


@conference_cli.command("set")
@click.option("--venue-name", help="The venue's name, e.g. 'Station F'.")
@click.option("--venue-address", help="The venue's postal address.")
@click.option("--wifi-ssid", help="The attendees' Wi-Fi network name (printed on badge backs; '' clears it).")
@click.option("--wifi-password", help="Its password ('' for an open network).")
def set_command(**options: str | None) -> None:
    """Set the venue and Wi-Fi details of the imported conference.

    Only the options given change; an empty value ('') clears a setting.
    """
    given = {name: value for name, value in options.items() if value is not None}
    if not given:
        raise click.UsageError("nothing to set: give at least one of --venue-name, --venue-address, "
                               "--wifi-ssid, --wifi-password")
    conference = get_conference()
    if conference is None:
        raise click.ClickException("no conference yet: import the schedule first "
                                   "(companion schedule import FILE), then set its venue and Wi-Fi.")
    warnings = [w for name, value in given.items() for w in _check(name, value)]
    for name, value in given.items():
        # SSIDs and passwords are kept exactly as given: spaces in them are real characters.
        stored = value if name.startswith("wifi") else value.strip()
        setattr(conference, name, stored or None)
    conference.updated_at = timeutil.now()
    db.session.commit()
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    for name in given:
        value = getattr(conference, name)
        shown = "(cleared)" if value is None else (f"set ({len(value)} characters)" if name == "wifi_password" else value)
        click.echo(f"{name.replace('_', ' ')}: {shown}")
    if conference.wifi_password and not conference.wifi_ssid:
        click.echo("warning: a Wi-Fi password without a network name is not printed; set --wifi-ssid too.", err=True)
