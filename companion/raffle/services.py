"""Raffle services: create, the eligibility list, freeze, draw, claim or not, redraw.

Each step is one conditional UPDATE of the raffle row (``WHERE frozen_at IS NULL``, ``WHERE
drawn_at IS NULL``, ``WHERE next_k = :seen``): of two staff members pressing the same button at
the same moment, one changes the row and the other is told what happened. Every step is audited
with who and when. Services flush; the view or command commits. ``now`` and ``rng`` are passed in
(``rng`` must be ``secrets.SystemRandom()`` outside tests: it makes the seed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text, update

from companion.accounts.models import Attendee, User
from companion.accounts.services import AccountError, normalise_email, record
from companion.codes import CODE_ALPHABET, new_code
from companion.extensions import db
from companion.push import services as push
from companion.raffle import algorithm, queries
from companion.raffle.models import ELIGIBILITY, SCREEN_NAMES, Raffle, RaffleEntry, RaffleListMember, RaffleWinner

DEFAULT_DRAW_TIME = time(15, 45)
DEFAULT_CLAIM_MINUTES = 30
TITLE_MAX = PRIZE_MAX = PLACE_MAX = 200
WINNERS_MAX = 100
LIST_MAX = 50_000


class RaffleError(ValueError):
    """A refusal to show staff: ``reason`` is a short key (tests, API), the message says what to do."""

    def __init__(self, reason: str, message: str, loc: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.loc = loc


@dataclass(frozen=True)
class RaffleFields:
    """What staff fill in for a raffle (times are local wall-clock times of the conference)."""

    title: str
    prize: str
    day: date
    draw_time: time = DEFAULT_DRAW_TIME
    claim_place: str = "the raffle desk"
    winners_wanted: int = 1
    eligibility: str = "hunt"
    exclude_past_winners: bool = True
    claim_minutes: int = DEFAULT_CLAIM_MINUTES
    screen_names: str = "first_initial"


def _checked(fields: RaffleFields, zone: ZoneInfo) -> dict[str, object]:
    title, prize, place = (fields.title or "").strip(), (fields.prize or "").strip(), (fields.claim_place or "").strip()
    for value, loc, label, most in ((title, "title", "a title", TITLE_MAX), (prize, "prize", "a prize", PRIZE_MAX),
                                    (place, "claim_place", "a place to claim the prize", PLACE_MAX)):
        if not value or len(value) > most:
            raise RaffleError("field", f"The raffle needs {label} of 1 to {most} characters.", loc=loc)
    if not 1 <= fields.winners_wanted <= WINNERS_MAX:
        raise RaffleError("field", f"The number of winners is 1 to {WINNERS_MAX}.", loc="winners_wanted")
    if not 1 <= fields.claim_minutes <= 1440:
        raise RaffleError("field", "The claim window is 1 to 1,440 minutes.", loc="claim_minutes")
    if fields.eligibility not in ELIGIBILITY:
        raise RaffleError("field", f"Eligibility is one of {', '.join(ELIGIBILITY)}.", loc="eligibility")
    if fields.screen_names not in SCREEN_NAMES:
        raise RaffleError("field", f"The screen shows one of {', '.join(SCREEN_NAMES)}.", loc="screen_names")
    draw_at = datetime.combine(fields.day, fields.draw_time, tzinfo=zone)
    return {"title": title, "prize": prize, "claim_place": place, "day": fields.day,
            "draw_at": draw_at.astimezone(ZoneInfo("UTC")), "winners_wanted": fields.winners_wanted,
            "eligibility": fields.eligibility, "exclude_past_winners": fields.exclude_past_winners,
            "claim_minutes": fields.claim_minutes, "screen_names": fields.screen_names}


def create_raffle(fields: RaffleFields, *, actor: User | None, now: datetime, zone: ZoneInfo,
                  rng: random.Random) -> Raffle:
    """Add a raffle (open: entries not fixed yet), audited.

    :raise RaffleError: a field is missing or out of range (``loc`` names it).
    """
    values = _checked(fields, zone)
    taken = set(db.session.scalars(select(Raffle.code)))
    raffle = Raffle(code=new_code(rng, taken, 8), created_at=now, updated_at=now, **values)
    db.session.add(raffle)
    db.session.flush()
    record(actor, "raffle.create", raffle.code, now=now, title=raffle.title, prize=raffle.prize,
           day=raffle.day.isoformat(), winners_wanted=raffle.winners_wanted, eligibility=raffle.eligibility)
    return raffle


def update_raffle(raffle: Raffle, fields: RaffleFields, *, actor: User | None, now: datetime, zone: ZoneInfo) -> None:
    """Change a raffle's fields while it is open (after the freeze, what was published stays), audited.

    :raise RaffleError: a field is wrong, or the entries are already frozen.
    """
    values = _checked(fields, zone)
    _require_open(raffle)
    changed = {key: value for key, value in values.items() if getattr(raffle, key) != value}
    # Conditional: a freeze committed a moment ago wins, and what it published stays as it was.
    done = db.session.execute(update(Raffle).where(Raffle.id == raffle.id, Raffle.frozen_at.is_(None))
                              .values(**changed, updated_at=now).execution_options(synchronize_session=False))
    db.session.expire(raffle)
    if done.rowcount != 1:
        raise RaffleError("frozen", "Someone froze the entries a moment ago: this raffle can no longer change.")
    record(actor, "raffle.update", raffle.code, now=now,
           changed={k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in changed.items()})


def _require_open(raffle: Raffle) -> None:
    if raffle.frozen_at is not None:
        raise RaffleError("frozen", "The entries are already frozen and published: this raffle can no longer change.")


def set_list(raffle: Raffle, lines: list[str], *, actor: User | None, now: datetime) -> int:
    """Replace the raffle's uploaded list (eligibility "list"): one email or registration id per line.

    Blank lines and lines starting with "#" are ignored. All or nothing: an unknown person, a
    staff or booth account, or a line given twice makes the whole upload fail.

    :raise RaffleError: the raffle is frozen, or lines are wrong (the message names the lines).
    :return: how many people are on the list.
    """
    _require_open(raffle)
    wanted: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        value = line.strip().strip('"').strip()
        if value and not value.startswith("#"):
            try:
                key = normalise_email(value) if "@" in value else value
            except AccountError:
                raise RaffleError("list", f"Line {number}: {value} is not a valid email address. Nothing was changed.",
                                  loc=f"line {number}") from None
            if key in wanted:
                raise RaffleError("list", f"Line {number}: {value} is also on line {wanted[key]}.", loc=f"line {number}")
            wanted[key] = number
    if not wanted:
        raise RaffleError("list", "The list is empty: one email address or registration id per line.", loc="file")
    if len(wanted) > LIST_MAX:
        raise RaffleError("list", f"The list has {len(wanted):,} people; at most {LIST_MAX:,}.", loc="file")
    found: dict[str, tuple[int, str | None]] = {}
    for user_id, email, registration_id, role in db.session.execute(
            select(User.id, User.email, Attendee.registration_id, User.role).join(Attendee, Attendee.user_id == User.id)):
        found[email] = (user_id, role)
        if registration_id:
            found[registration_id] = (user_id, role)
    unknown = [(number, key) for key, number in wanted.items() if key not in found]
    if unknown:
        shown = "; ".join(f"line {n}: {key}" for n, key in unknown[:5])
        more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
        raise RaffleError("list", f"No attendee has this email address or registration id: {shown}{more}. "
                                  "Nothing was changed.", loc=f"line {unknown[0][0]}")
    staff = [(number, key) for key, number in wanted.items() if found[key][1]]
    if staff:
        number, key = staff[0]
        raise RaffleError("list", f"Line {number}: {key} is a staff or booth account, who cannot enter raffles. "
                                  "Nothing was changed.", loc=f"line {number}")
    ids = {found[key][0] for key in wanted}
    if len(ids) < len(wanted):
        raise RaffleError("list", "The list names the same attendee twice (by email and by registration id).",
                          loc="file")
    db.session.execute(RaffleListMember.__table__.delete().where(RaffleListMember.raffle_id == raffle.id))
    db.session.execute(insert(RaffleListMember), [{"raffle_id": raffle.id, "user_id": i} for i in sorted(ids)])
    raffle.updated_at = now
    db.session.flush()
    record(actor, "raffle.list", raffle.code, now=now, people=len(ids))
    return len(ids)


ENTRY_CODE_LENGTH = 6
_CODE_SPACE = len(CODE_ALPHABET) ** ENTRY_CODE_LENGTH  # 887,503,681
_CODE_LIMIT = (1 << 32) // _CODE_SPACE * _CODE_SPACE  # 4-byte draws at or above it are rejected (uniformity)


def entry_codes(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct random entry codes such as "7QK2-M9" (6 characters of the code alphabet).

    Random bytes are taken in bulk (one system call for thousands of codes with
    ``secrets.SystemRandom``), four per code, rejection-sampled so every code is equally likely.
    """
    codes: dict[str, None] = {}
    width = len(CODE_ALPHABET)
    while len(codes) < count:
        missing = count - len(codes)
        data = rng.randbytes(4 * (missing + missing // 4 + 8))
        for offset in range(0, len(data), 4):
            x = int.from_bytes(data[offset:offset + 4], "big")
            if x >= _CODE_LIMIT:
                continue
            x %= _CODE_SPACE
            characters = []
            for _ in range(ENTRY_CODE_LENGTH):
                x, digit = divmod(x, width)
                characters.append(CODE_ALPHABET[digit])
            codes["".join(characters[:4]) + "-" + "".join(characters[4:])] = None  # a repeat is dropped, drawn again
            if len(codes) == count:
                break
    return list(codes)


def _insert_entries(raffle_id: int, people: list[int], codes: list[str], past: set[int]) -> None:
    """Write the entries in one statement (20,000 rows: one round trip, not 20,000)."""
    excluded = [p in past for p in people]
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(
            "INSERT INTO raffle_entry (raffle_id, user_id, entry_code, excluded) "
            "SELECT :raffle_id, u, c, e FROM unnest(CAST(:users AS integer[]), CAST(:codes AS varchar[]), "
            "CAST(:excluded AS boolean[])) AS t(u, c, e)"),
            {"raffle_id": raffle_id, "users": people, "codes": codes, "excluded": excluded})
    else:
        db.session.execute(RaffleEntry.__table__.insert(), [
            {"raffle_id": raffle_id, "user_id": user_id, "entry_code": code, "excluded": out}
            for user_id, code, out in zip(people, codes, excluded, strict=True)])


def freeze(raffle: Raffle, *, actor: User | None, now: datetime, zone: ZoneInfo, rng: random.Random) -> int:
    """Fix the entries: give each eligible person a pseudonym, publish the sorted list's hash and
    the commitment to a new random seed (kept secret until the draw), audited.

    Earlier winners of any raffle are entries marked excluded (when the raffle excludes them):
    the published list shows them, the draw skips them.

    :raise RaffleError: already frozen (by someone else a moment ago, perhaps).
    :return: the number of entries.
    """
    _require_open(raffle)
    people = list(db.session.scalars(queries.eligible(raffle, zone=zone)))
    past = queries.past_winner_ids(raffle) if raffle.exclude_past_winners else set()
    codes = entry_codes(rng, len(people))
    ordered = sorted(codes)
    seed = rng.randbytes(algorithm.SEED_BYTES)
    done = db.session.execute(
        update(Raffle).where(Raffle.id == raffle.id, Raffle.frozen_at.is_(None))
        .values(frozen_at=now, list_hash=algorithm.list_hash(ordered), commitment=algorithm.commitment(seed),
                seed=seed.hex(), updated_at=now)
        .execution_options(synchronize_session=False))
    db.session.expire(raffle)
    if done.rowcount != 1:
        raise RaffleError("frozen", "Someone froze the entries a moment ago: they are published now.")
    if people:
        _insert_entries(raffle.id, people, codes, past)
    record(actor, "raffle.freeze", raffle.code, now=now, entries=len(people),
           excluded=sum(1 for p in people if p in past), list_hash=raffle.list_hash, commitment=raffle.commitment)
    return len(people)


def _pool(raffle: Raffle) -> tuple[list[str], set[str]]:
    """(the sorted entry codes, the excluded ones)."""
    rows = db.session.execute(select(RaffleEntry.entry_code, RaffleEntry.excluded)
                              .where(RaffleEntry.raffle_id == raffle.id)).all()
    return sorted(code for code, _ in rows), {code for code, excluded in rows if excluded}


def _add_winners(raffle: Raffle, drawn: list[tuple[int, str]], *, now: datetime, zone: ZoneInfo,
                 card_url: str) -> list[RaffleWinner]:
    ids = dict(db.session.execute(select(RaffleEntry.entry_code, RaffleEntry.id).where(
        RaffleEntry.raffle_id == raffle.id, RaffleEntry.entry_code.in_([code for _, code in drawn]))).all())
    claim_by = now + timedelta(minutes=raffle.claim_minutes)
    winners = [RaffleWinner(raffle_id=raffle.id, entry_id=ids[code], k=k, drawn_at=now, claim_by=claim_by,
                            status="drawn") for k, code in drawn]
    db.session.add_all(winners)
    db.session.flush()
    for winner in winners:
        _tell_winner(raffle, winner, now=now, zone=zone, card_url=card_url)
    return winners


def _tell_winner(raffle: Raffle, winner: RaffleWinner, *, now: datetime, zone: ZoneInfo, card_url: str) -> None:
    """A push to the winner's devices: what, where, until when (their card says the same)."""
    if winner.entry.user_id is None:
        return
    until = winner.claim_by.astimezone(zone).strftime("%H:%M")
    push.notify([winner.entry.user_id], title=f"You won: {raffle.prize[:120]}",
                body=f"{raffle.title[:120]}. Your entry {winner.entry.entry_code}: claim your prize at "
                     f"{raffle.claim_place[:120]} by {until}.",
                url=card_url, dedupe_key=f"raffle:{raffle.code}:{winner.k}", now=now, expires_at=winner.claim_by)


def draw(raffle: Raffle, *, actor: User | None, now: datetime, zone: ZoneInfo, card_url: str,
         confirm_small: bool = False) -> list[RaffleWinner]:
    """Reveal the seed and draw the winners with ``sha256-counter-v1``, audited; winners are told by push.

    :raise RaffleError: not frozen yet; drawn already (perhaps a moment ago by someone else);
        no entry can win; fewer entries than winners wanted and ``confirm_small`` not given
        (reason "confirm": the message says how many it would draw).
    """
    if raffle.frozen_at is None:
        raise RaffleError("not_frozen", "Freeze the entries first: the list and the commitment must be published "
                                        "before the draw.")
    if raffle.drawn_at is not None:
        raise RaffleError("drawn", "This raffle has been drawn already. Use redraw for a prize nobody claimed.")
    entries, excluded = _pool(raffle)
    available = len(entries) - len(excluded)
    if available == 0:
        raise RaffleError("empty", f"No entry can win: the raffle has {len(entries)} entries"
                                   f"{f', all {len(excluded)} of them earlier winners' if excluded else ''}. Nothing was drawn.")
    if available < raffle.winners_wanted and not confirm_small:
        raise RaffleError("confirm", f"Only {available} {'entry' if available == 1 else 'entries'} can win, and "
                                     f"{raffle.winners_wanted} winners are wanted. Confirm to draw {available}.")
    drawn = algorithm.draw(bytes.fromhex(raffle.seed or ""), entries, raffle.winners_wanted, skip=excluded)
    done = db.session.execute(
        update(Raffle).where(Raffle.id == raffle.id, Raffle.frozen_at.is_not(None), Raffle.drawn_at.is_(None))
        .values(drawn_at=now, next_k=drawn[-1][0] + 1, updated_at=now).execution_options(synchronize_session=False))
    db.session.expire(raffle)
    if done.rowcount != 1:
        raise RaffleError("drawn", "Someone drew this raffle a moment ago: the winners are on the screen now.")
    winners = _add_winners(raffle, drawn, now=now, zone=zone, card_url=card_url)
    record(actor, "raffle.draw", raffle.code, now=now, seed=raffle.seed,
           winners=[{"k": k, "entry": code} for k, code in drawn], confirmed_small_pool=available < raffle.winners_wanted)
    return winners


def mark(winner: RaffleWinner, status: str, *, actor: User | None, now: datetime, zone: ZoneInfo) -> None:
    """Record that a winner claimed the prize, or did not within the window, audited.

    "claimed" is accepted while the winner is pending, late or not (staff decide); "not_claimed"
    only once the claim window has ended, so nobody loses a prize before their time is up.

    :raise RaffleError: an unknown status; the window still open; decided already.
    """
    if status not in ("claimed", "not_claimed"):
        raise RaffleError("status", "Mark a winner claimed or not_claimed.", loc="status")
    if status == "not_claimed" and now < winner.claim_by:
        until = winner.claim_by.astimezone(zone).strftime("%H:%M")
        raise RaffleError("window_open", f"{winner.entry.entry_code} can claim until {until}: wait until then "
                                         "before marking the prize not claimed.")
    done = db.session.execute(
        update(RaffleWinner).where(RaffleWinner.id == winner.id, RaffleWinner.status == "drawn")
        .values(status=status, decided_at=now).execution_options(synchronize_session=False))
    db.session.expire(winner)
    if done.rowcount != 1:
        raise RaffleError("decided", f"{winner.entry.entry_code} is already marked "
                                     f"{winner.status.replace('_', ' ')}.")
    raffle = db.session.get(Raffle, winner.raffle_id)
    record(actor, f"raffle.{status}", raffle.code if raffle else None, now=now, entry=winner.entry.entry_code,
           k=winner.k)


def redraw(raffle: Raffle, *, actor: User | None, now: datetime, zone: ZoneInfo, card_url: str) -> list[RaffleWinner]:
    """Draw a winner for every prize left without one (winners marked not claimed), continuing the
    same sequence where the draw stopped; audited, the new winners told by push.

    :raise RaffleError: not drawn yet; no prize is free; every entry has been drawn; another
        redraw a moment ago.
    """
    if raffle.drawn_at is None or raffle.next_k is None:
        raise RaffleError("not_drawn", "Draw the raffle first.")
    holding = db.session.scalar(select(func.count()).select_from(RaffleWinner).where(
        RaffleWinner.raffle_id == raffle.id, RaffleWinner.status.in_(("drawn", "claimed"))))
    open_places = raffle.winners_wanted - (holding or 0)
    if open_places <= 0:
        raise RaffleError("no_place", "Every prize has a winner. Mark a winner not claimed (after their window) "
                                      "to draw again.")
    entries, excluded = _pool(raffle)
    drawn_before = set(db.session.scalars(select(RaffleEntry.entry_code).join(RaffleWinner).where(
        RaffleWinner.raffle_id == raffle.id)))
    seen_k = raffle.next_k
    drawn = algorithm.draw(bytes.fromhex(raffle.seed or ""), entries, open_places, skip=excluded | drawn_before,
                           start=seen_k)
    if not drawn:
        raise RaffleError("exhausted", "Every entry that can win has been drawn: there is nobody left to draw.")
    done = db.session.execute(
        update(Raffle).where(Raffle.id == raffle.id, Raffle.next_k == seen_k)
        .values(next_k=drawn[-1][0] + 1, updated_at=now).execution_options(synchronize_session=False))
    db.session.expire(raffle)
    if done.rowcount != 1:
        raise RaffleError("redrawn", "Someone drew again a moment ago: see the new winner on the desk.")
    winners = _add_winners(raffle, drawn, now=now, zone=zone, card_url=card_url)
    record(actor, "raffle.redraw", raffle.code, now=now, winners=[{"k": k, "entry": code} for k, code in drawn])
    return winners
