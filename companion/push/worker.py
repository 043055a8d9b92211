"""The push worker loop (``companion push worker``): plan, claim, send, record, again.

Each step is its own transaction, committed by this loop: planning; claiming (rows become
``sending`` with a lease before anything is sent, so a crash after the claim loses nothing);
recording. Planning runs at most once per ``plan_every`` seconds: claiming a keynote's 10,000
reminders takes twenty batches, and they need one planning pass, not twenty.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, fields
from datetime import timedelta

from flask import Flask

from companion import timeutil
from companion.extensions import db
from companion.push import delivery, planning
from companion.push.sender import Outcome, Outgoing, Sender, VapidHeaders
from companion.push.vapid import VapidError, load_keys, subject_for


IN_FLIGHT = 2  # batches being sent at once


@dataclass
class WorkerOptions:
    """How a worker runs; the CLI's options."""

    once: bool = False
    batch_size: int = 500
    concurrency: int = 64
    timeout: float = 10.0
    lease: timedelta = delivery.LEASE
    idle_seconds: float = 1.0
    plan_every: float = 1.0
    encrypt_processes: int = 0  # helper processes that encrypt (the CLI uses one when there is a spare core)


@dataclass
class WorkerTotals(delivery.Recorded):
    """What a worker did so far: the outcomes it recorded, and what it planned."""

    planned: int = 0
    withdrawn: int = 0
    batches: int = 0

    def add(self, recorded: delivery.Recorded) -> None:
        """Count one :func:`delivery.record` call's outcomes."""
        for outcome in fields(delivery.Recorded):
            setattr(self, outcome.name, getattr(self, outcome.name) + getattr(recorded, outcome.name))


def sender_for(app: Flask, options: WorkerOptions) -> Sender:
    """A :class:`Sender` with the app's VAPID key and subject.

    :raise VapidError: no key (run ``companion push vapid-keys``), or a subject push services refuse.
    """
    keys = load_keys(app)
    if keys is None:
        raise VapidError("There is no VAPID key: run `companion push vapid-keys` (or set COMPANION_VAPID_PRIVATE_KEY).")
    return Sender(VapidHeaders(keys.vapid, subject_for(app)), concurrency=options.concurrency, timeout=options.timeout,
                  encrypt_processes=options.encrypt_processes)


def run(app: Flask, options: WorkerOptions, *, stop: threading.Event | None = None,
        progress: Callable[[WorkerTotals], None] | None = None) -> WorkerTotals:
    """Run the loop until ``stop`` is set, or, with ``options.once``, until nothing is due now.

    :raise VapidError: see :func:`sender_for`.
    """
    stop = stop or threading.Event()
    totals = WorkerTotals()
    sender = sender_for(app, options)

    last_plan = float("-inf")

    def plan_and_claim() -> tuple[list[Outgoing], int]:
        # Database work runs in a thread: while it waits on the database, the batch in flight goes on.
        nonlocal last_plan
        with app.app_context():
            now = timeutil.now()
            if time.monotonic() - last_plan >= options.plan_every or options.once and totals.batches == 0:
                result = planning.plan_all(now=now)
                db.session.commit()
                last_plan = time.monotonic()
                totals.planned += result.reminders + result.change_alerts + result.announcements
                totals.withdrawn += result.withdrawn
            claimed = delivery.claim(now=now, limit=options.batch_size, lease=options.lease)
            db.session.commit()
            return claimed

    def record(batch: list[Outgoing], outcomes: list[Outcome]) -> None:
        with app.app_context():
            totals.add(delivery.record(batch, outcomes, now=timeutil.now()))
            db.session.commit()

    async def loop() -> None:
        # Up to IN_FLIGHT batches at once (the sender's one limit on requests covers them all):
        # the next batch is claimed while the previous one is still being sent.
        in_flight: deque[tuple[list[Outgoing], asyncio.Task[list[Outcome]]]] = deque()
        claimed = 0
        async with sender:
            while True:
                if len(in_flight) < IN_FLIGHT and not stop.is_set():
                    batch, claimed = await asyncio.to_thread(plan_and_claim)
                    if batch:
                        in_flight.append((batch, asyncio.create_task(sender.send_all(batch))))
                        continue
                if in_flight:
                    batch, sending = in_flight.popleft()
                    await asyncio.to_thread(record, batch, await sending)
                    totals.batches += 1
                    if progress:
                        progress(totals)
                    continue
                if stop.is_set():
                    return
                if claimed:
                    continue  # all expired unsent: look for more at once
                if options.once:
                    return
                await asyncio.sleep(options.idle_seconds)

    _run_in_own_loop(loop)
    return totals


def _run_in_own_loop(main: Callable[[], Coroutine[object, object, None]]) -> None:
    """``asyncio.run(main())``, in a thread of its own if this thread already runs an event loop
    (a caller that is itself asynchronous, such as a notebook or a browser-driving test)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
        return
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name="push-worker-loop")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
