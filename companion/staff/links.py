"""The staff home page's links. Each feature registers its own staff pages here when its
views module is imported, so the staff area grows without one template knowing every feature."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffLink:
    label: str
    endpoint: str
    roles: tuple[str, ...]  # who sees the link (admins see all)
    description: str = ""


_links: list[StaffLink] = []


def register(label: str, endpoint: str, roles: tuple[str, ...] = ("staff",), description: str = "") -> None:
    """Add a link to the staff home page (once per endpoint)."""
    if all(link.endpoint != endpoint for link in _links):
        _links.append(StaffLink(label, endpoint, roles, description))


def visible_to(user: object) -> list[StaffLink]:
    """The links ``user`` may follow, in registration order."""
    return [link for link in _links if user.has_role(*link.roles)]  # type: ignore[attr-defined]
