"""Voting services: categories and posters, the window, casting a vote, reveal and tie-break.

A vote is one ``INSERT ... ON CONFLICT (user_id, category_id) DO UPDATE``: the first vote inserts,
a later one moves the same row (``changes = changes + 1`` in SQL), so any number of concurrent
votes by one person leave one ballot holding the last one written. Services flush; the view, API
function or command commits. Staff actions are audited.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Executable, Integer, bindparam, case, exists, literal, literal_column, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from companion.accounts.models import User
from companion.accounts.services import record
from companion.codes import new_code, unique_slug
from companion.extensions import db
from companion.voting import queries
from companion.voting.models import VOTERS, Ballot, Poster, TieBreak, VoteCategory, VotingWindow, poster_category

TITLE_MAX, AUTHORS_MAX, BOARD_MAX, CATEGORY_MAX, ABSTRACT_MAX = 300, 500, 20, 100, 5000


class VotingError(ValueError):
    """A refusal to show the person: ``reason`` a short key (tests, API), the message says what to do."""

    def __init__(self, reason: str, message: str, loc: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.loc = loc


# --- categories and posters -------------------------------------------------------------


def category_named(name: str, *, create: bool = True) -> VoteCategory:
    """The category called ``name`` (case-insensitive), added at the end if new and ``create``.

    :raise VotingError: an empty or too long name; unknown and not ``create``.
    """
    name = " ".join((name or "").split())
    if not name or len(name) > CATEGORY_MAX:
        raise VotingError("category", f"A category has a name of 1 to {CATEGORY_MAX} characters.", loc="category")
    found = next((c for c in db.session.scalars(select(VoteCategory)) if c.name.lower() == name.lower()), None)
    if found or not create:
        if found is None:
            raise VotingError("category", f"There is no category {name}.", loc="category")
        return found
    taken = set(db.session.scalars(select(VoteCategory.code)))
    position = len(taken)
    category = VoteCategory(code=unique_slug(name, taken, fallback="category", max_length=40), name=name,
                            position=position)
    db.session.add(category)
    db.session.flush()
    return category


@dataclass(frozen=True)
class PosterFields:
    """A poster as staff give it (form or CSV row)."""

    board: str
    title: str
    authors: str
    abstract: str | None
    categories: tuple[str, ...]


def checked_fields(fields: PosterFields) -> PosterFields:
    """The fields trimmed and checked. :raise VotingError: naming the field."""
    board, title, authors = (" ".join((v or "").split()) for v in (fields.board, fields.title, fields.authors))
    abstract = (fields.abstract or "").strip() or None
    for value, loc, most in ((board, "board", BOARD_MAX), (title, "title", TITLE_MAX), (authors, "authors", AUTHORS_MAX)):
        if not value or len(value) > most:
            raise VotingError("field", f"The poster needs a {loc} of 1 to {most} characters.", loc=loc)
    if abstract and len(abstract) > ABSTRACT_MAX:
        raise VotingError("field", f"The abstract has at most {ABSTRACT_MAX} characters.", loc="abstract")
    # One of each, compared as categories are (case-insensitively): "Best poster; best poster" is one.
    named: dict[str, str] = {}
    for raw in fields.categories:
        name = " ".join((raw or "").split())
        if len(name) > CATEGORY_MAX:
            raise VotingError("field", f"A category has a name of 1 to {CATEGORY_MAX} characters.", loc="categories")
        if name:
            named.setdefault(name.lower(), name)
    categories = tuple(named.values())
    if not categories:
        raise VotingError("field", "Put the poster in at least one category (for instance Best poster).",
                          loc="categories")
    return PosterFields(board, title, authors, abstract, categories)


def add_poster(fields: PosterFields, *, now: datetime, rng: random.Random) -> Poster:
    """Add a poster with a new random code, creating its categories if new.

    :raise VotingError: a field is wrong, or another poster is on the same board.
    """
    fields = checked_fields(fields)
    if db.session.scalar(select(Poster.id).where(Poster.board == fields.board)) is not None:
        raise VotingError("board", f"Board {fields.board} already has a poster.", loc="board")
    taken = set(db.session.scalars(select(Poster.code)))
    poster = Poster(code=new_code(rng, taken, 6), board=fields.board, title=fields.title, authors=fields.authors,
                    abstract=fields.abstract, created_at=now, updated_at=now,
                    categories=[category_named(c) for c in fields.categories])
    db.session.add(poster)
    db.session.flush()
    return poster


def update_poster(poster: Poster, fields: PosterFields, *, now: datetime) -> None:
    """Change a poster. Leaving a category keeps the ballots cast for it there (they were cast).

    :raise VotingError: a field is wrong, or the board is another poster's.
    """
    fields = checked_fields(fields)
    other = db.session.scalar(select(Poster.id).where(Poster.board == fields.board, Poster.id != poster.id))
    if other is not None:
        raise VotingError("board", f"Board {fields.board} already has a poster.", loc="board")
    poster.board, poster.title, poster.authors, poster.abstract = fields.board, fields.title, fields.authors, fields.abstract
    poster.categories = [category_named(c) for c in fields.categories]
    poster.updated_at = now
    db.session.flush()


# --- the window -------------------------------------------------------------------------


def window() -> VotingWindow:
    """The voting window (a row made on first use: not open, any attendee may vote)."""
    found = db.session.scalar(select(VotingWindow).order_by(VotingWindow.id).limit(1))
    if found is None:
        found = VotingWindow(opens_at=None, closes_at=None, voters="attendees",
                             updated_at=datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC")))
        db.session.add(found)
        db.session.flush()
    return found


def is_open(w: VotingWindow, now: datetime) -> bool:
    """Open from ``opens_at`` (inclusive) until ``closes_at`` (exclusive)."""
    return w.opens_at is not None and w.opens_at <= now and (w.closes_at is None or now < w.closes_at)


def set_window(opens_at: datetime | None, closes_at: datetime | None, voters: str, *, actor: User | None,
               now: datetime) -> VotingWindow:
    """Set when voting opens and closes and who may vote (audited).

    :raise VotingError: a close before the open, or unknown voters.
    """
    if voters not in VOTERS:
        raise VotingError("field", "Who may vote: any signed-in attendee, or checked-in attendees only.", loc="voters")
    if opens_at and closes_at and closes_at <= opens_at:
        raise VotingError("field", "The close must come after the opening.", loc="closes_at")
    w = window()
    w.opens_at, w.closes_at, w.voters, w.updated_at = opens_at, closes_at, voters, now
    db.session.flush()
    record(actor, "voting.window", None, now=now, opens_at=opens_at.isoformat() if opens_at else None,
           closes_at=closes_at.isoformat() if closes_at else None, voters=voters)
    return w


def open_now(*, actor: User | None, now: datetime) -> None:
    """Open voting now, keeping a set close that is still ahead (audited)."""
    w = window()
    w.opens_at = now
    if w.closes_at is not None and w.closes_at <= now:
        w.closes_at = None
    w.updated_at = now
    db.session.flush()
    record(actor, "voting.open", None, now=now, closes_at=w.closes_at.isoformat() if w.closes_at else None)


def close_now(*, actor: User | None, now: datetime) -> None:
    """Close voting now (audited). :raise VotingError: it is not open."""
    w = window()
    if not is_open(w, now):
        raise VotingError("closed", "Voting is not open.")
    w.closes_at, w.updated_at = now, now
    db.session.flush()
    record(actor, "voting.close", None, now=now)


# --- casting a vote ---------------------------------------------------------------------


@dataclass(frozen=True)
class VoteResult:
    """The ballot after the vote, in plain values: the category and poster it is for now, how often
    it has moved so far, and whether it counts (staff votes do not)."""

    category_code: str
    category_name: str
    poster_code: str
    board: str
    title: str
    changes: int
    counted: bool


class UnknownTarget(VotingError):
    """No such category or poster (``loc`` says which): the API answers 404."""

    def __init__(self, loc: str, message: str) -> None:
        super().__init__("unknown", message, loc=loc)


def _refuse_voter(user: User, w: VotingWindow, now: datetime, zone: ZoneInfo) -> None:
    if not is_open(w, now):
        if w.opens_at is None or now < w.opens_at:
            when = f" at {w.opens_at.astimezone(zone):%H:%M on %-d %B}" if w.opens_at else ""
            raise VotingError("not_open", f"Voting has not opened yet{when}.")
        raise VotingError("closed", f"Voting closed at {w.closes_at.astimezone(zone):%H:%M}. Your earlier vote, if "
                                    "any, stands.")
    attendee = user.attendee
    if attendee is None and not user.role:
        raise VotingError("not_allowed", "Only attendees can vote.")
    if w.voters == "checked_in" and attendee is not None and not user.role and attendee.checked_in_at is None:
        raise VotingError("not_checked_in", "Only checked-in attendees can vote: show your badge at the door first.")


def cast_vote(user: User, poster_code: str, category_code: str, *, now: datetime,
              zone: ZoneInfo | Callable[[], ZoneInfo]) -> VoteResult:
    """Vote for the poster with ``poster_code`` (as on its board's QR, any case) in the category
    with ``category_code``, or move this person's vote there; atomic and final for the last writer.
    Staff votes are kept but not counted (they may try the page).

    One statement does it: ``INSERT ... SELECT <the poster and category, joined through their
    membership> WHERE <the window is open for this voter> ON CONFLICT (user_id, category_id) DO
    UPDATE ... RETURNING``, so a vote and a close racing each other never leave a vote after the
    close, and neither the lookup nor the window costs a query of its own. Only a refusal reads
    more, to say why.

    :param zone: the conference's zone, or a function giving it (looked up only to word a refusal).
    :raise UnknownTarget: no such category, or no such poster.
    :raise VotingError: voting not open or closed (with the time), not allowed to vote, or the
        poster is not in this category.
    """
    poster_code = poster_code.strip().upper()
    counted = not user.role
    if user.attendee is None and counted:
        _explain_refusal(user, poster_code, category_code, now, _zone_of(zone))
    checked_in_only = counted and user.attendee is not None and user.attendee.checked_in_at is None
    statement = _vote_statement(db.session.get_bind().dialect.name, checked_in_only)
    row = db.session.execute(statement, {"user_id": user.id, "poster_code": poster_code,
                                         "category_code": category_code, "counted": counted, "now": now}).first()
    if row is None:  # no such poster in this category, or the window is not open for this voter: say which
        _explain_refusal(user, poster_code, category_code, now, _zone_of(zone))
    changes, category_name, board, title = row
    return VoteResult(category_code, category_name, poster_code, board, title, changes=changes, counted=counted)


def _explain_refusal(user: User, poster_code: str, category_code: str, now: datetime, zone: ZoneInfo) -> NoReturn:
    """Raise the reason a vote was not cast, in the order a person would fix them: the codes, the
    window, the voter, the poster's categories."""
    category = queries.category_by_code(category_code)
    if category is None:
        raise UnknownTarget("category", f"There is no voting category {category_code}.")
    poster = queries.poster_by_code(poster_code)
    if poster is None:
        raise UnknownTarget("poster", f"There is no poster {poster_code}: check the code on the board.")
    _refuse_voter(user, window(), now, zone)
    if category not in poster.categories:
        has_posters = db.session.scalar(select(poster_category.c.poster_id)
                                        .where(poster_category.c.category_id == category.id).limit(1))
        if has_posters is None:
            raise VotingError("category", f"{category.name} has no posters to vote for.", loc="category")
        raise VotingError("category", f"{poster.title} is not in {category.name}.", loc="category")
    # Everything allows it now: the window or the posters changed while the vote was on its way.
    raise VotingError("closed", "Voting is not open.")


@functools.cache
def _vote_statement(dialect: str, needs_attendees_window: bool) -> Executable:
    """The vote's one statement, built once per database kind (building it costs more than running it).

    ``INSERT INTO ballot SELECT :user_id, category.id, poster.id, ... FROM poster JOIN
    poster_category JOIN vote_category WHERE poster.code = :poster_code AND category.code =
    :category_code AND EXISTS (the window is open at :now [for any attendee]) ON CONFLICT (user_id,
    category_id) DO UPDATE SET poster_id, updated_at, changes + 1 if the poster changed RETURNING
    changes, the category's name, the poster's board and title``.
    """
    ballot, posters, categories = Ballot.__table__, Poster.__table__, VoteCategory.__table__
    now = bindparam("now", type_=ballot.c.cast_at.type)
    opened = [VotingWindow.opens_at <= now, or_(VotingWindow.closes_at.is_(None), VotingWindow.closes_at > now)]
    if needs_attendees_window:  # an attendee not checked in votes only while any attendee may
        opened.append(VotingWindow.voters == "attendees")
    # Core, not the ORM entities: the parameters are one vote's, not rows to insert.
    values = (select(bindparam("user_id", type_=Integer), categories.c.id, posters.c.id,
                     bindparam("counted", type_=Boolean), now, now, literal(0))
              .select_from(posters)
              .join(poster_category, poster_category.c.poster_id == posters.c.id)
              .join(categories, categories.c.id == poster_category.c.category_id)
              .where(posters.c.code == bindparam("poster_code"), categories.c.code == bindparam("category_code"),
                     exists().where(*opened)))
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(ballot).from_select(
        ["user_id", "category_id", "poster_id", "counted", "cast_at", "updated_at", "changes"], values)
    excluded = statement.excluded
    # What the answer shows, read in the same statement (both databases allow subqueries here). The
    # ballot's columns are named in SQL because SQLAlchemy does not correlate RETURNING subqueries.
    category_name = select(categories.c.name).where(categories.c.id == literal_column("ballot.category_id"))
    board = select(posters.c.board).where(posters.c.id == literal_column("ballot.poster_id"))
    title = select(posters.c.title).where(posters.c.id == literal_column("ballot.poster_id"))
    return statement.on_conflict_do_update(
        index_elements=["user_id", "category_id"],
        # updated_at is when the vote last moved: voting again for the same poster changes nothing.
        set_={"poster_id": excluded.poster_id,
              "updated_at": case((ballot.c.poster_id != excluded.poster_id, excluded.updated_at),
                                 else_=ballot.c.updated_at),
              "changes": ballot.c.changes + case((ballot.c.poster_id != excluded.poster_id, 1), else_=0)},
    ).returning(ballot.c.changes, category_name.scalar_subquery(), board.scalar_subquery(),
                title.scalar_subquery())


def _zone_of(zone: ZoneInfo | Callable[[], ZoneInfo]) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else zone()


# --- reveal and tie-break ---------------------------------------------------------------


def reveal(category: VoteCategory, shown: bool, *, actor: User | None, now: datetime) -> None:
    """Show (or hide again) a category's results to everyone (audited)."""
    category.revealed_at = now if shown else None
    db.session.flush()
    record(actor, "voting.reveal" if shown else "voting.hide", category.code, now=now)


def break_tie(category: VoteCategory, poster: Poster, reason: str, *, tied: list[Poster], actor: User | None,
              now: datetime) -> TieBreak:
    """Record staff's choice among the posters tied first in ``category`` (audited; a later choice
    replaces it, and both are in the log).

    :raise VotingError: the poster is not among the tied ones, or no reason given.
    """
    if poster not in tied:
        raise VotingError("tie", f"{poster.title} is not among the posters tied first.", loc="poster")
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > 500:
        raise VotingError("tie", "Say how the tie was broken (1 to 500 characters), for the record.", loc="reason")
    found = db.session.scalar(select(TieBreak).where(TieBreak.category_id == category.id))
    if found is None:
        found = TieBreak(category_id=category.id, poster_id=poster.id, reason=reason, decided_at=now,
                         decided_by_id=actor.id if actor else None)
        db.session.add(found)
    else:
        found.poster_id, found.reason, found.decided_at = poster.id, reason, now
        found.decided_by_id = actor.id if actor else None
    db.session.flush()
    record(actor, "voting.tie_break", category.code, now=now, poster=poster.code, board=poster.board, reason=reason,
           tied=[p.code for p in tied])
    return found



def vote_message(result: VoteResult) -> str:
    """"Your vote for Best poster: P12, Faster kernels." (and a note for staff)."""
    text = f"Your vote for {result.category_name}: {result.board}, {result.title}."
    if not result.counted:
        text += " Staff votes are kept for trying the page but not counted."
    return text


def window_text(w: VotingWindow, now: datetime, zone: ZoneInfo) -> str:
    """The window in a sentence: "Voting is open until 19:00.", "Voting closed at 19:00.", ..."""
    if is_open(w, now):
        return f"Voting is open until {w.closes_at.astimezone(zone):%H:%M}." if w.closes_at else "Voting is open."
    if w.opens_at is not None and now < w.opens_at:
        return f"Voting opens at {w.opens_at.astimezone(zone):%H:%M} on {w.opens_at.astimezone(zone):%-d %B}."
    if w.closes_at is not None and w.opens_at is not None:
        return f"Voting closed at {w.closes_at.astimezone(zone):%H:%M}."
    return "Voting has not opened yet."
