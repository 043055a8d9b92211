"""The demo's poster reception: 36 posters in "Best poster" (all) and "People's choice" (all), voting
open now, and thirty attendees' votes already in, so the staff tally has bars to show."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from companion.accounts.models import Attendee, User
from companion.extensions import db
from companion.voting import services
from companion.voting.models import Poster

TOPICS = ["Faster attention kernels", "Quantised inference on phones", "Graph compilers for training",
          "Sparse mixture-of-experts routing", "Federated fine-tuning", "Robust speech recognition",
          "Protein structure with diffusion", "Energy-aware scheduling", "Tabular foundation models",
          "Interpretable vision transformers", "Low-rank adapters at scale", "Streaming data loaders"]
SETTINGS = ["in PyTorch", "on edge devices", "with torch.compile", "for climate science", "for healthcare",
            "in production"]
AUTHORS = ["A. Rossi", "B. Okafor", "C. Nguyen", "D. Müller", "E. García", "F. Kowalski", "G. Tanaka",
           "H. Haddad", "I. Svensson", "J. Dubois", "K. Mensah", "L. Chen"]
CATEGORIES = ("Best poster", "People's choice")


def load_demo_posters(*, now: datetime, zone: ZoneInfo, rng: random.Random, staff: User) -> str:
    """Add the posters, open voting until 20:00 (at least two hours from now) and cast some votes, once.

    :return: a summary line.
    """
    if db.session.scalar(select(Poster.id).limit(1)) is not None:
        return "The database already holds posters; keeping them."
    posters = []
    for n in range(1, 37):
        title = f"{TOPICS[(n - 1) % len(TOPICS)]} {SETTINGS[(n * 5) % len(SETTINGS)]}"
        authors = ", ".join(rng.sample(AUTHORS, k=rng.randint(1, 3)))
        posters.append(services.add_poster(services.PosterFields(
            f"P{n}", title, authors, f"We study {title.lower()}: what worked, what did not, and the code.", CATEGORIES),
            now=now, rng=rng))
    evening = now.astimezone(zone).replace(hour=20, minute=0, second=0, microsecond=0)
    services.set_window(now - timedelta(minutes=10), max(evening, now + timedelta(hours=2)), "attendees",
                        actor=staff, now=now)
    categories = {c.name: c for p in posters[:1] for c in p.categories}
    voters = list(db.session.scalars(select(User).join(Attendee, Attendee.user_id == User.id)
                                     .where(User.role.is_(None)).order_by(User.id)))[1:31]  # not Ada: she votes herself
    favourites = rng.sample(posters, k=6)
    for person in voters:
        for name in CATEGORIES:
            pick = rng.choice(favourites) if rng.random() < 0.7 else rng.choice(posters)
            services.cast_vote(person, pick.code, categories[name].code, now=now, zone=zone)
    return f"36 posters, voting open until {max(evening, now + timedelta(hours=2)).astimezone(zone):%H:%M}, " \
           f"{len(voters) * len(CATEGORIES)} votes cast"
