"""The Wi-Fi join payload that phone cameras understand: ``WIFI:T:WPA;S:<ssid>;P:<password>;;``.

The format comes from the ZXing "Barcode Contents" wiki and is what Android and iOS cameras read.
In the SSID and the password the characters ``\\ ; , : "`` are special and are escaped with a
backslash; an unescaped ``;`` in a password would end the field and the phone would join with
a truncated password.
"""

from __future__ import annotations

_SPECIAL = frozenset('\\;,:"')


def escape_wifi_field(value: str) -> str:
    """Backslash-escape ``\\ ; , : "`` in a value of the Wi-Fi payload.

    :param value: an SSID or a password, as the attendee would type it.
    """
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in value)


def wifi_payload(ssid: str, password: str | None) -> str:
    """The payload of a Wi-Fi join QR code.

    A WPA/WPA2/WPA3 personal network when ``password`` is set (``T:WPA`` covers all three on
    phones), an open network (``T:nopass``, no ``P`` field) when it is empty or None.

    :param ssid: the network name; must not be empty.
    :raise ValueError: if ``ssid`` is empty.
    """
    if not ssid:
        raise ValueError("a Wi-Fi QR code needs a network name (SSID)")
    if password:
        return f"WIFI:T:WPA;S:{escape_wifi_field(ssid)};P:{escape_wifi_field(password)};;"
    return f"WIFI:T:nopass;S:{escape_wifi_field(ssid)};;"
