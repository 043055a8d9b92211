"""Benchmark: freezing and drawing a raffle among 20,000 eligible attendees.

Issue: "freeze and draw among 20,000 eligible attendees: goal under 0.5 s for both steps together".

Set-up (untimed): a fresh database (a scratch PostgreSQL database, the default, or a SQLite file),
migrated with ``flask_migrate.upgrade()``; the 2-day demo conference (``generate_conference``,
Europe/Paris, 80 sessions) applied with ``apply_schedule``; one rotating station
(``hunt.services.add_station``) active on day one only, so one stamp completes day one's hunt
(the rule asks for min(stamps_needed, stations that day)); ``--attendees`` users, Attendee rows
and one day-one stamp each, inserted in bulk (core INSERTs, not the ORM one by one). The eligible
count (``queries.eligible_count``) must be exactly ``--attendees`` before anything is timed.

Timed, ``--repetitions`` times (each on a new raffle made by ``services.create_raffle``, untimed,
so every freeze is real), interleaved with the baseline:

* freeze: ``services.freeze(rng=secrets.SystemRandom())`` then ``db.session.commit()``;
* draw: ``services.draw`` of ``--winners`` winners (default 3) then ``db.session.commit()``;
  the raffles exclude earlier winners (the default), so repetition i has 3 x i excluded entries;
* the baseline, the floor cost of the same data: read the eligible user ids with the hunt's
  ``completers_query`` alone, then a plain executemany INSERT of as many rows of the same width as
  ``raffle_entry`` (id, raffle id, user id, a 7-character code, a boolean) into a scratch table
  with only a primary key, committed.

Each step runs in a fresh session (``db.session.remove()`` between them), as separate requests
would. After each repetition (untimed) the public proof (``queries.proof``) must check out with
``companion.raffle.proof.problems``, hold exactly ``--attendees`` entries, 3 x i excluded ones
and ``--winners`` winners. It prints every repetition, the median and max of freeze, draw and
both, the goal (total < 0.5 s: met / not met, for information), the baseline and the ratio.
``--profile`` adds one more repetition under cProfile and prints where its time went. Exit
status 1 only if something functionally failed. Run from the repository root::

    .venv/bin/python bench/raffle.py [--database postgresql|sqlite] [--attendees 20000] [--repetitions 5] [--winners 3] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import random
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402

PUBLIC_URL = "https://conference.example.org"
FIRST_DAY = date(2026, 10, 20)  # day one of the generated conference (Europe/Paris)
SEED = 2026
GOAL_S = 0.5
SCRATCH_TABLE = "bench_raffle_scratch"
FREEZE_ATTEMPTS = 5


class Failure(Exception):
    """Something functionally wrong: the run's figures cannot be trusted."""


@dataclass
class Repetition:
    freeze: float
    draw: float
    baseline_read: float
    baseline_insert: float
    entries: int
    excluded: int
    winners: int
    proof_check: float

    @property
    def total(self) -> float:
        return self.freeze + self.draw

    @property
    def baseline(self) -> float:
        return self.baseline_read + self.baseline_insert


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--attendees", type=int, default=20_000, help="eligible attendees (default 20,000)")
    parser.add_argument("--repetitions", type=int, default=5, help="raffles frozen and drawn (default 5)")
    parser.add_argument("--winners", type=int, default=3, help="winners per raffle (default 3)")
    parser.add_argument("--profile", action="store_true",
                        help="one more repetition under cProfile: print where freeze and draw spend their time")
    args = parser.parse_args()

    print(f"reproduce: {_support.reproduce_line()}")
    for line in _support.machine_lines(args.database):
        print(line)
    print()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-raffle-") as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        try:
            with _support.scratch_database(args.database, instance) as database_url:
                status = run(args, instance, database_url)
        except Failure as failure:
            print(f"\nFAILED: {failure}")
            status = 1
    print(f"load:     {_support.load_average()} (1/5/15 min load average after the run); "
          f"whole run {time.perf_counter() - started:.0f} s")
    return status


# --- Set-up ---------------------------------------------------------------------------------


def _app(instance: Path, database_url: str):  # noqa: ANN202 - a Flask app
    from companion import create_app

    return create_app({"ENV": "production", "PUBLIC_URL": PUBLIC_URL, "SECRET_KEY": secrets.token_hex(32),
                       "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "LOG_LEVEL": "WARNING"})


def set_up(attendees: int) -> None:
    """Migrate; the conference; one station on day one; the attendees, each with one day-one stamp."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select, text

    from companion import timeutil
    from companion.accounts.models import Attendee, User
    from companion.extensions import db
    from companion.hunt import services as hunt
    from companion.hunt.models import Stamp
    from companion.raffle.models import Raffle
    from companion.raffle import queries as raffle_queries
    from companion.schedule.demo_data import generate_conference
    from companion.schedule.services import apply_schedule

    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
        upgrade()
    now = timeutil.now()
    apply_schedule(generate_conference(FIRST_DAY, random.Random(SEED), days=2), now=now, rng=random.Random(SEED))
    station = hunt.add_station("Sponsor 1", days=[FIRST_DAY], location="Expo hall, booth B1", now=now,
                               rng=random.Random(SEED))
    db.session.execute(insert(User), [
        {"email": f"bench-{i}@example.org", "name": f"Bench Attendee{i}", "session_version": 1, "created_at": now}
        for i in range(attendees)])
    ids = dict(db.session.execute(select(User.email, User.id)).all())
    user_ids = [ids[f"bench-{i}@example.org"] for i in range(attendees)]
    db.session.execute(insert(Attendee), [
        {"user_id": user_id, "registration_id": f"BENCH-{i:05d}", "company": "Bench Corp", "ticket_type": "Conference",
         "badge_token": secrets.token_urlsafe(16), "consent_share_contact": False, "created_at": now, "updated_at": now}
        for i, user_id in enumerate(user_ids)])
    morning = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, 7, 0, tzinfo=UTC)  # 09:00 in Paris
    db.session.execute(insert(Stamp), [
        {"user_id": user_id, "station_id": station.id, "day": FIRST_DAY,
         "stamped_at": morning + timedelta(seconds=i % 28_800), "method": "code", "share_contact": False}
        for i, user_id in enumerate(user_ids)])
    # The baseline's scratch table: the width of raffle_entry, a primary key and nothing else.
    db.session.execute(text(f"CREATE TABLE {SCRATCH_TABLE} (id INTEGER PRIMARY KEY, raffle_id INTEGER NOT NULL, "
                            "user_id INTEGER, entry_code VARCHAR(16) NOT NULL, excluded BOOLEAN NOT NULL)"))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    probe = Raffle(eligibility="hunt", day=FIRST_DAY)  # transient: only what eligible() reads
    eligible = raffle_queries.eligible_count(probe, zone=_zone())
    db.session.rollback()
    db.session.remove()
    if eligible != attendees:
        raise Failure(f"set-up made {eligible:,} eligible attendees, expected {attendees:,}")
    print(f"set-up:   demo conference (2 days, Europe/Paris), 1 station active on {FIRST_DAY} only, "
          f"{attendees:,} attendees with one stamp each: {eligible:,} eligible for a 'hunt' raffle of {FIRST_DAY} "
          f"({time.perf_counter() - started:.1f} s, untimed)")


def _zone():  # noqa: ANN202 - ZoneInfo
    from companion.schedule.queries import conference_zone, get_conference

    return conference_zone(get_conference())


# --- The timed steps ----------------------------------------------------------------------------


def new_raffle(number: int, winners: int) -> int:
    """An open raffle of day one (committed, untimed): its id."""
    from companion import timeutil
    from companion.extensions import db
    from companion.raffle import services

    raffle = services.create_raffle(
        services.RaffleFields(title=f"Bench raffle {number}", prize="A PyTorch hoodie", day=FIRST_DAY,
                              claim_place="the raffle desk in the expo hall", winners_wanted=winners),
        actor=None, now=timeutil.now(), zone=_zone(), rng=random.Random(SEED + number))
    db.session.commit()
    raffle_id = raffle.id
    db.session.remove()
    return raffle_id


def freeze_and_draw(raffle_id: int) -> tuple[float, float, int, list[str]]:
    """Timed: freeze + commit, then draw + commit, each in a fresh session.

    A freeze that fails with an IntegrityError (two entries given the same code) is rolled back
    and tried again on the same raffle, as staff would press the button again; the failures are
    returned (a functional failure: the run exits 1) and the time of the attempt that worked is
    the freeze's. :return: freeze seconds, draw seconds, entries, the failed attempts' errors.
    """
    from sqlalchemy.exc import IntegrityError

    from companion import timeutil
    from companion.extensions import db
    from companion.raffle import services
    from companion.raffle.models import Raffle

    failed: list[str] = []
    for _ in range(FREEZE_ATTEMPTS):
        zone = _zone()
        raffle = db.session.get(Raffle, raffle_id)
        started = time.perf_counter()
        try:
            entries = services.freeze(raffle, actor=None, now=timeutil.now(), zone=zone, rng=secrets.SystemRandom())
            db.session.commit()
        except IntegrityError as error:  # two entries given the same code: the freeze fails, staff press again
            db.session.rollback()
            db.session.remove()
            failed.append(str(error.orig).splitlines()[0])
            continue
        frozen = time.perf_counter()
        db.session.remove()
        break
    else:
        raise Failure(f"the freeze failed {FREEZE_ATTEMPTS} times in a row: {failed[-1]}")

    zone = _zone()
    raffle = db.session.get(Raffle, raffle_id)
    started_draw = time.perf_counter()
    services.draw(raffle, actor=None, now=timeutil.now(), zone=zone, card_url=f"{PUBLIC_URL}/hunt")
    db.session.commit()
    drawn = time.perf_counter()
    db.session.remove()
    return frozen - started, drawn - started_draw, entries, failed


def baseline(scratch_raffle_id: int) -> tuple[float, float, int]:
    """Timed: the completers query alone, then a plain executemany INSERT of as many rows, committed."""
    from sqlalchemy import text

    from companion.extensions import db
    from companion.hunt.queries import completers_query

    started = time.perf_counter()
    user_ids = list(db.session.scalars(completers_query(FIRST_DAY)))
    read = time.perf_counter()
    db.session.execute(
        text(f"INSERT INTO {SCRATCH_TABLE} (id, raffle_id, user_id, entry_code, excluded) "
             "VALUES (:id, :raffle_id, :user_id, :entry_code, :excluded)"),
        [{"id": scratch_raffle_id * 1_000_000 + i, "raffle_id": scratch_raffle_id, "user_id": user_id,
          "entry_code": f"{i:04X}-{i % 100:02d}", "excluded": False} for i, user_id in enumerate(user_ids)])
    db.session.commit()
    inserted = time.perf_counter()
    db.session.remove()
    return read - started, inserted - read, len(user_ids)


def check(raffle_id: int, attendees: int, excluded_expected: int, winners_expected: int) -> tuple[dict, float]:
    """Untimed: the public proof must check out, with the expected entries, excluded ones and winners."""
    from companion.extensions import db
    from companion.raffle import proof as raffle_proof
    from companion.raffle import queries
    from companion.raffle.models import Raffle

    raffle = db.session.get(Raffle, raffle_id)
    published = queries.proof(raffle)
    db.session.remove()
    started = time.perf_counter()
    problems = raffle_proof.problems(published)
    seconds = time.perf_counter() - started
    wrong = []
    if problems:
        wrong.append("the proof does not check out: " + "; ".join(problems))
    if len(published["entries"]) != attendees:
        wrong.append(f"{len(published['entries']):,} entries, expected {attendees:,}")
    if len(published["excluded"]) != excluded_expected:
        wrong.append(f"{len(published['excluded'])} excluded entries, expected {excluded_expected} (earlier winners)")
    holding = [w for w in published["winners"] if w["status"] == "drawn"]
    if len(holding) != winners_expected:
        wrong.append(f"{len(holding)} winners, expected {winners_expected}")
    if set(w["entry"] for w in published["winners"]) & set(published["excluded"]):
        wrong.append("an excluded entry won")
    if wrong:
        raise Failure(f"raffle {published['raffle']}: " + "; ".join(wrong))
    return published, seconds


# --- The run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace, instance: Path, database_url: str) -> int:
    app = _app(instance, database_url)
    with app.app_context():
        from companion.extensions import db

        set_up(args.attendees)
        print(f"timed:    {args.repetitions} repetitions, each: baseline (completers_query + executemany INSERT "
              f"of {args.attendees:,} rows into {SCRATCH_TABLE}, commit), then a new raffle (untimed) frozen "
              f"(rng=secrets.SystemRandom(), commit) and drawn ({args.winners} winners, commit)")
        print()
        print(f"{'rep':>3} {'entries':>8} {'excluded':>8} {'freeze s':>9} {'draw s':>8} {'total s':>8} "
              f"{'baseline s':>10} {'(read':>7} {'+ insert)':>9} {'ratio':>6}  proof")
        repetitions: list[Repetition] = []
        freeze_failures: list[str] = []
        for number in range(args.repetitions):
            base_read, base_insert, base_rows = baseline(number + 1)
            if base_rows != args.attendees:
                raise Failure(f"the completers query gave {base_rows:,} user ids, expected {args.attendees:,}")
            raffle_id = new_raffle(number + 1, args.winners)
            freeze_s, draw_s, entries, failed = freeze_and_draw(raffle_id)
            for error in failed:
                print(f"    FAILED freeze of repetition {number + 1} (rolled back, tried again): {error}")
            freeze_failures.extend(failed)
            if entries != args.attendees:
                raise Failure(f"the freeze made {entries:,} entries, expected {args.attendees:,}")
            published, proof_s = check(raffle_id, args.attendees, args.winners * number, args.winners)
            rep = Repetition(freeze_s, draw_s, base_read, base_insert, entries, len(published["excluded"]),
                             len(published["winners"]), proof_s)
            repetitions.append(rep)
            print(f"{number + 1:>3} {rep.entries:>8,} {rep.excluded:>8} {rep.freeze:>9.3f} {rep.draw:>8.3f} "
                  f"{rep.total:>8.3f} {rep.baseline:>10.3f} {rep.baseline_read:>7.3f} {rep.baseline_insert:>9.3f} "
                  f"{rep.total / rep.baseline:>6.2f}  checks out ({rep.winners} winners, problems() in "
                  f"{rep.proof_check:.3f} s)")
        report(repetitions, args)
        if args.profile:
            freeze_failures.extend(profile(args, len(repetitions) + 1))
        db.session.remove()
        db.engine.dispose()
    if freeze_failures:
        attempts = len(repetitions) + len(freeze_failures) + (1 if args.profile else 0)
        print(f"\nFAILED: {len(freeze_failures)} of {attempts} freezes failed with an IntegrityError (two entries given "
              f"the same code): {freeze_failures[0]}")
        return 1
    return 0


def report(reps: list[Repetition], args: argparse.Namespace) -> None:
    def stats(values: list[float]) -> str:
        return f"median {statistics.median(values):.3f} s, max {max(values):.3f} s"

    total = statistics.median(r.total for r in reps)
    base = statistics.median(r.baseline for r in reps)
    print()
    print(f"entries:  {reps[0].entries:,} per raffle (excluded earlier winners: "
          f"{', '.join(str(r.excluded) for r in reps)}); every proof checks out with proof.problems()")
    print(f"freeze:   {stats([r.freeze for r in reps])}  (services.freeze + commit)")
    print(f"draw:     {stats([r.draw for r in reps])}  (services.draw of {args.winners} + commit)")
    print(f"total:    {stats([r.total for r in reps])}  goal < {GOAL_S} s: "
          f"median {'met' if total < GOAL_S else 'not met'}, max {'met' if max(r.total for r in reps) < GOAL_S else 'not met'}")
    print(f"baseline: {stats([r.baseline for r in reps])}  (read {statistics.median(r.baseline_read for r in reps):.3f} "
          f"+ insert {statistics.median(r.baseline_insert for r in reps):.3f}: completers_query, executemany INSERT "
          f"of {args.attendees:,} rows, commit)")
    print(f"ratio:    total / baseline = {total / base:.2f} (medians)")


def profile(args: argparse.Namespace, number: int) -> list[str]:
    """One more repetition under cProfile: the top functions of freeze and draw together."""
    raffle_id = new_raffle(number, args.winners)
    profiler = cProfile.Profile()
    profiler.enable()
    freeze_s, draw_s, _, failed = freeze_and_draw(raffle_id)
    profiler.disable()
    check(raffle_id, args.attendees, args.winners * (number - 1), args.winners)
    print()
    print(f"profile:  repetition {number} under cProfile (slower than unprofiled): freeze {freeze_s:.3f} s, "
          f"draw {draw_s:.3f} s")
    for key, shown in (("tottime", "own time"), ("cumulative", "cumulative")):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key).print_stats(18)
        lines = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        print(f"--- by {shown} ---")
        print("\n".join(line for line in lines[start:] if line.strip()))
    return failed


if __name__ == "__main__":
    sys.exit(main())
