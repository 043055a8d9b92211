"""Worker processes against the real emulator: each message exactly once, nothing lost to a SIGKILL.

PostgreSQL runs three workers side by side (``FOR UPDATE SKIP LOCKED``); SQLite, which has one
writer, runs one, as the README says to. Workers are real ``companion push worker`` processes on
the real clock, so the messages here are due at the real "now".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from companion.database import is_postgresql
from companion.push import services
from companion.push.models import PushMessage
from tests.accounts.factories import make_user
from tests.push.conftest import Device

DEVICES = 200
PER_DEVICE = 10


def _worker(app, *args: str) -> subprocess.Popen:
    env = {**os.environ, "COMPANION_ENV": "testing", "COMPANION_SECRET_KEY": "test-secret-key",
           "COMPANION_DATABASE_URL": app.config["DATABASE_URL"], "COMPANION_INSTANCE_PATH": app.instance_path}
    return subprocess.Popen([sys.executable, "-c", "from companion.cli import main; main()", "push", "worker", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _queue(db, devices: list[Device]) -> None:
    """DEVICES x PER_DEVICE messages, due now (the real now: workers run on the real clock)."""
    now = datetime.now(UTC)
    rows = []
    for index, device in enumerate(devices):
        user = make_user()
        subscription = services.subscribe(user, device.endpoint, device.p256dh, device.auth, now=now)
        for n in range(PER_DEVICE):
            number = index * PER_DEVICE + n
            rows.append(services.message_row(subscription.id, user.id, "notice", f"load:{number}",
                                             services.compose("Load", str(number), "/"), now=now,
                                             expires_at=now + timedelta(hours=1)))
    services.queue(rows)
    db.commit()


def _arrivals(push_emulator, devices: list[Device]) -> Counter:
    return Counter(int(json.loads(m)["body"]) for d in devices for m in push_emulator.notifications(d.client_hash))


def _status_counts(db) -> dict[str, int]:
    db.expire_all()
    return dict(db.execute(select(PushMessage.status, func.count()).group_by(PushMessage.status)).all())


def _finish(process: subprocess.Popen, timeout: float = 120) -> str:
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr
    return stderr


@pytest.fixture
def devices(new_device, vapid) -> list[Device]:
    return [new_device() for _ in range(DEVICES)]


def test_workers_deliver_every_message_exactly_once(app, db, devices, push_emulator):
    _queue(db, devices)
    count = 3 if is_postgresql(db.get_bind()) else 1

    workers = [_worker(app, "--once", "--batch", "50", "--concurrency", "16") for _ in range(count)]
    for worker in workers:
        _finish(worker)

    total = DEVICES * PER_DEVICE
    assert _status_counts(db) == {"sent": total}
    assert _arrivals(push_emulator, devices) == Counter(range(total))


def test_a_killed_worker_loses_nothing(app, db, devices, push_emulator, record_property):
    _queue(db, devices)
    total = DEVICES * PER_DEVICE
    doomed = _worker(app, "--batch", "100", "--concurrency", "16", "--lease", "5")
    deadline = time.monotonic() + 60
    # Kill it with a batch in flight: a quarter sent, and rows claimed but not yet recorded.
    while (counts := _status_counts(db)).get("sent", 0) < total // 4 or not counts.get("sending"):
        assert doomed.poll() is None and time.monotonic() < deadline, doomed.stderr.read() if doomed.poll() else "slow"
        time.sleep(0.02)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    db.expire_all()
    in_flight = set(db.scalars(select(PushMessage.id).where(PushMessage.status == "sending")))
    bodies = dict(db.execute(select(PushMessage.id, PushMessage.payload)).all())
    in_flight_numbers = {int(json.loads(bodies[i])["body"]) for i in in_flight}
    time.sleep(5.5)  # the killed worker's lease runs out

    _finish(_worker(app, "--once", "--batch", "100", "--concurrency", "16"))

    arrivals = _arrivals(push_emulator, devices)
    duplicated = {number for number, times in arrivals.items() if times > 1}
    record_property("duplicates_after_sigkill", len(duplicated))
    print(f"\nSIGKILL with {len(in_flight)} messages claimed: {len(duplicated)} arrived twice", file=sys.stderr)
    assert _status_counts(db) == {"sent": total}
    assert set(arrivals) == set(range(total))  # nothing lost
    assert duplicated <= in_flight_numbers  # only what was in flight at the kill may arrive twice
    assert max(arrivals.values()) <= 2
