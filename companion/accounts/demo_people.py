"""Demo attendees and staff: a registration-system CSV made up by the project's own code, imported
through the same path as a real one, and one staff account."""

from __future__ import annotations

import csv
import io
import random

from companion.schedule.demo_data import FIRST, LAST, ORGS

DEMO_ATTENDEE_EMAIL = "ada@attendee.example"
DEMO_STAFF_EMAIL = "sam@staff.example"
TICKETS = ["Conference", "Conference", "Conference", "Student", "Speaker", "Sponsor"]


def demo_registrations_csv(rng: random.Random, count: int = 60) -> bytes:
    """A CSV as a registration system exports it (its own column names), ``count`` people.

    The first person is the demo attendee the demo signs in as.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Order ID", "First Name", "Last Name", "Email Address", "Company", "Ticket Type"])
    writer.writerow(["DEMO-0001", "Ada", "Lovelace", DEMO_ATTENDEE_EMAIL, "Analytical Engines", "Conference"])
    seen = {DEMO_ATTENDEE_EMAIL}
    number = 1
    while number < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}@attendee.example".lower()
        if email in seen:
            continue
        seen.add(email)
        number += 1
        writer.writerow([f"DEMO-{number:04d}", first, last, email, rng.choice(ORGS), rng.choice(TICKETS)])
    return out.getvalue().encode()
