"""Benchmark: fanning one notification out to 10,000 devices (web push: VAPID-signed, aes128gcm),
our outbox worker beside the Node ``web-push`` library (the reference implementation).

Two targets, each measured in one run, every phase sending the same 10,000 messages (one per
subscription) with the same number of requests in flight (``--concurrency``):

*emulator*: web-push-testing (``tests/node/push-emulator.js``, one Node process on 127.0.0.1) with
10,000 clients subscribed through its API. It checks every VAPID JWT and decrypts every message,
so it is the slowest party: the ceiling is the emulator fed pre-encrypted requests (this benchmark
encrypts the 10,000 bodies first, untimed, then only POSTs them; measured first and last, mean),
after an untimed warm-up of 500 such messages to 500 other clients.
Phases: ceiling (1), Node web-push, our Sender alone (no database), our worker end to end, ceiling
(2). Goal: worker >= 0.90 x ceiling. After each phase 200 sampled clients' inboxes must hold
exactly one message per phase so far, each with its phase's exact payload.

*sink*: a tiny HTTP server of this file's own (``--sink-serve``, its own process: a raw
``asyncio.Protocol`` HTTP/1.1 keep-alive server that answers ``201 Created`` with no body and
discards the body; it counts requests per endpoint and keeps the sampled ones), so the sending side
is what is measured. 10,000 subscriptions ``http://127.0.0.1:<port>/push/<i>`` with P-256 keys made
here. Phases: pre-encrypted POSTs (for information: HTTP alone), Node web-push (1), Sender alone,
worker, Node web-push (2). Goals: worker >= 1,500 messages/s and >= 2 x Node (mean of its two runs).
After each phase every endpoint must have had exactly one request; the sampled bodies must decrypt
(with the subscription's private key) to the exact payload and carry a valid VAPID JWT.

Our worker end to end: a fresh database (SQLite file, or with ``--database postgresql`` a scratch
database on 127.0.0.1:5432, dropped at the end), 10,000 users and push subscriptions inserted in
bulk, 10,000 messages queued by ``services.notify``, then timed
``worker.run(app, WorkerOptions(once=True, batch_size=..., concurrency=...))``; afterwards every
row must be ``sent`` with one attempt, one per subscription. Exit status 1 only if something
functionally failed (a status other than 201, a missing, repeated or wrong message, wrong rows),
2 if Node or the node packages are missing. Each phase also prints the CPU per message of the
sender and of the emulator or sink (from /proc), which shows where a slow run spent its time. Run
from the repository root (about four minutes for both targets on an idle machine)::

    .venv/bin/python bench/push_fanout.py [--messages 10000] [--concurrency 64] [--target emulator|sink|both] [--database sqlite|postgresql] [--batch-size 500] [--sample 200] [--encrypt-processes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import io
import json
import os
import random
import secrets
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402

NODE_DIR = _support.REPO / "tests" / "node"
NODE_SCRIPT = Path(__file__).resolve().parent / "push_fanout_node.js"
INSTALL_HINT = "install the node packages: cd tests/node && npm ci"

TITLE = "Raffle draw at the sponsor hall"
BODY = "The draw starts in ten minutes at stand 12. Bring your badge: winners must be there to collect."
URL = "/raffle"
URGENCY = "high"  # services.notify's default
TTL_SECONDS = 12 * 3600  # services.DEFAULT_TTL
TIMEOUT_SECONDS = 10.0  # WorkerOptions.timeout
SEED = 2026

EMULATOR_GOAL = 0.90  # worker >= 0.90 x the emulator's ceiling
SINK_GOAL_RATE = 1500.0  # worker >= 1,500 messages/s against the sink
SINK_GOAL_NODE = 2.0  # and >= 2 x the Node library
START_TIMEOUT = 15.0
WARMUP = 500  # untimed pre-encrypted messages to extra emulator clients first: its JIT warms up


class Failure(Exception):
    """Something functionally wrong: the run cannot go on."""


@dataclass
class Phase:
    """One timed phase: how long ``messages`` took and what came back."""

    label: str
    seconds: float
    messages: int
    statuses: dict[str, int]
    note: str = ""
    sender_cpu: float | None = None  # CPU seconds of the sending process(es) while timed
    server_cpu: float | None = None  # CPU seconds of the emulator or sink process during the phase

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class Subscription:
    endpoint: str
    p256dh: str
    auth: str
    client_hash: str | None = None  # the emulator's name for the client
    private_key: object | None = None  # sink subscriptions: ours, to decrypt the samples


@dataclass
class Context:
    """What one target's phases share."""

    args: argparse.Namespace
    tmp: Path
    instance: Path
    keys: object  # companion.push.vapid.VapidKeys
    subject: str
    subscriptions: list[Subscription]
    sample: list[int]
    problems: list[str] = field(default_factory=list)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def payload_for(phase: str) -> bytes:
    """The JSON the service worker shows, as ``services.notify`` composes it; the tag names the phase."""
    from companion.push.services import compose

    return compose(TITLE, BODY, URL, tag=f"bench:{phase}"[:64]).encode("utf-8")


# --- Header -------------------------------------------------------------------------------------


def header(args: argparse.Namespace, node: str) -> None:
    from importlib.metadata import version

    from cryptography.hazmat.backends.openssl import backend

    print(f"reproduce: {_support.reproduce_line()}")
    for line in _support.machine_lines(args.database):
        print(line)
    web_push = json.loads((NODE_DIR / "node_modules" / "web-push" / "package.json").read_text())["version"]
    testing = json.loads((NODE_DIR / "node_modules" / "web-push-testing" / "package.json").read_text())["version"]
    print(f"node:     {_support.tool_version([node, '--version'])}; web-push {web_push} (reference); "
          f"web-push-testing {testing} (emulator)")
    print(f"sender:   aiohttp {version('aiohttp')}, cryptography {version('cryptography')} (encrypt: companion.push.encryption), py-vapid "
          f"{version('py-vapid')}, cryptography {version('cryptography')} ({backend.openssl_version_text()}); "
          f"default asyncio event loop")
    print(f"messages: {args.messages:,}, one per subscription, concurrency {args.concurrency} in flight "
          f"(every phase), worker batch size {args.batch_size}; payload {len(payload_for('worker'))} bytes "
          f"of JSON, aes128gcm, VAPID ES256, TTL {TTL_SECONDS} s, Urgency {URGENCY}")
    print(f"cores:    {_support.cpu_count()} shared by everything: the emulator or the sink (one process, one "
          f"core at most) runs beside the sender being measured (this Python process, or node for the "
          f"reference){'; PostgreSQL' if args.database == 'postgresql' else ''}; nothing is pinned")
    print()


# --- The sink: its own process ------------------------------------------------------------------


def serve_sink(size: int, sample: set[int]) -> None:
    """Answer every ``POST /push/<i>`` with 201 and no body; count per endpoint; keep the samples.

    ``GET /_stats`` answers the counts (JSON) and ``POST /_reset`` clears them. Requests without
    ``Content-Encoding: aes128gcm``, a ``vapid`` Authorization or a TTL answer 400 (counted as bad).
    """
    counts = [0] * size
    state: dict[str, object] = {"requests": 0, "bad": 0, "other": 0, "samples": {}}
    created = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    refused = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    def control(method: bytes, target: bytes) -> bytes:
        if method == b"POST" and target == b"/_reset":
            counts[:] = [0] * size
            state.update(requests=0, bad=0, other=0, samples={})
            body = b"{}"
        elif method == b"GET" and target == b"/_stats":
            seen = sum(1 for c in counts if c)
            body = json.dumps({"requests": state["requests"], "bad": state["bad"], "other": state["other"],
                               "distinct": seen, "max": max(counts, default=0),
                               "samples": state["samples"]}).encode()
        else:
            return not_found
        return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    def handle(method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
        if not target.startswith(b"/push/"):
            return control(method, target)
        state["requests"] += 1  # type: ignore[operator]
        try:
            index = int(target[6:])
            counts[index] += 1
        except (ValueError, IndexError):
            state["other"] += 1  # type: ignore[operator]
            return not_found
        if (method != b"POST" or headers.get(b"content-encoding") != b"aes128gcm" or b"ttl" not in headers
                or not headers.get(b"authorization", b"").startswith(b"vapid t=")):
            state["bad"] += 1  # type: ignore[operator]
            return refused
        if index in sample:
            state["samples"][str(index)] = {  # type: ignore[index]
                "body": base64.b64encode(body).decode(),
                **{name.decode(): headers.get(name, b"").decode("latin-1")
                   for name in (b"authorization", b"ttl", b"urgency", b"content-type", b"content-encoding")}}
        return created

    class Sink(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = bytearray()

        def data_received(self, data: bytes) -> None:
            buffer = self.buffer
            buffer += data
            answers = []
            close = False
            while True:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    break
                lines = bytes(buffer[:end]).split(b"\r\n")
                method, target, _ = lines[0].split(b" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    headers[name.strip().lower()] = value.strip()
                if b"transfer-encoding" in headers:  # neither client sends chunked bodies
                    state["bad"] += 1  # type: ignore[operator]
                    answers.append(refused)
                    close = True
                    break
                total = end + 4 + int(headers.get(b"content-length", b"0"))
                if len(buffer) < total:
                    break
                body = bytes(buffer[end + 4:total])
                del buffer[:total]
                answers.append(handle(method, target, headers, body))
                close = close or headers.get(b"connection", b"").lower() == b"close"
            if answers:
                self.transport.write(b"".join(answers))  # type: ignore[attr-defined]
            if close:
                self.transport.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Sink, "127.0.0.1", 0, backlog=1024)
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"listening {port}\n")
        sys.stdout.flush()
        stdin_closed = loop.create_future()

        def watch_stdin() -> None:  # the bench closes our stdin (or dies): stop
            if not os.read(sys.stdin.fileno(), 4096) and not stdin_closed.done():
                stdin_closed.set_result(None)

        loop.add_reader(sys.stdin.fileno(), watch_stdin)
        async with server:
            await stdin_closed

    asyncio.run(main())


class SinkProcess:
    def __init__(self, size: int, sample: list[int], tmp: Path) -> None:
        self.stderr_path = tmp / "sink.stderr"
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--sink-serve", "--messages", str(size),
                 "--sink-sample", ",".join(map(str, sample))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        line = read_line(self.process, START_TIMEOUT)
        if not line or not line.startswith("listening "):
            self.stop()
            raise Failure(f"the sink did not start: {line!r}; stderr: {self.stderr_path.read_text()[-2000:]}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def _call(self, method: str, path: str) -> dict:
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return json.loads(response.read())
        finally:
            connection.close()

    def stats(self) -> dict:
        return self._call("GET", "/_stats")

    def reset(self) -> None:
        self._call("POST", "/_reset")

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if process.stdout:
        process.stdout.close()


def read_line(process: subprocess.Popen, timeout: float) -> str | None:
    """The first line of ``process``'s stdout, or None if none came within ``timeout`` s."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    buffer = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return buffer.decode(errors="replace") or None
            chunk = os.read(fd, 4096)
            if not chunk:
                return buffer.decode(errors="replace") or None
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode(errors="replace")


# --- Sending: pre-encrypted POSTs, Sender alone, Node, the worker -------------------------------


def outgoing(ctx: Context, payload: bytes) -> list:
    from companion.push.sender import Outgoing

    return [Outgoing(i + 1, i + 1, s.endpoint, s.p256dh, s.auth, payload, TTL_SECONDS, URGENCY, None)
            for i, s in enumerate(ctx.subscriptions)]


def pre_encrypt(ctx: Context, payload: bytes) -> tuple[list[tuple[str, dict[str, str], bytes]], float]:
    """Every request ready to POST (our encrypt, our VAPID header); and seconds per encryption."""
    from companion.push.sender import VapidHeaders, encrypt

    headers = VapidHeaders(ctx.keys.vapid, ctx.subject)
    requests = []
    started = time.perf_counter()
    for message in outgoing(ctx, payload):
        requests.append((message.endpoint, {
            "Authorization": headers.for_endpoint(message.endpoint), "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream", "TTL": str(message.ttl), "Urgency": message.urgency,
        }, encrypt(message)))
    return requests, (time.perf_counter() - started) / len(requests)


def post_all(requests: list[tuple[str, dict[str, str], bytes]], concurrency: int, label: str) -> Phase:
    """POST prepared requests through one aiohttp pool, at most ``concurrency`` at once (as Sender does)."""
    import aiohttp

    async def go() -> tuple[float, list[object]]:
        connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency, ttl_dns_cache=300)
        async with aiohttp.ClientSession(connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as session:
            gate = asyncio.Semaphore(concurrency)

            async def one(url: str, headers: dict[str, str], body: bytes) -> object:
                async with gate:
                    try:
                        async with session.post(url, data=body, headers=headers) as response:
                            await response.read()
                            return response.status
                    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                        return type(exc).__name__

            started, cpu = time.perf_counter(), time.process_time()
            statuses = await asyncio.gather(*(one(*r) for r in requests))
            return time.perf_counter() - started, time.process_time() - cpu, statuses

    seconds, cpu, statuses = asyncio.run(go())
    return Phase(label, seconds, len(requests), dict(collections.Counter(str(s) for s in statuses)), sender_cpu=cpu)


def sender_alone(ctx: Context, payload: bytes, label: str) -> Phase:
    """Our Sender (encrypt + sign + POST), no database: send_all over the 10,000 prepared messages."""
    from companion.push.sender import Sender, VapidHeaders

    messages = outgoing(ctx, payload)

    async def go() -> tuple[float, list]:
        async with Sender(VapidHeaders(ctx.keys.vapid, ctx.subject), concurrency=ctx.args.concurrency,
                          timeout=TIMEOUT_SECONDS, encrypt_processes=ctx.args.encrypt_processes) as sender:
            started, cpu = time.perf_counter(), time.process_time()
            outcomes = await sender.send_all(messages)
            return time.perf_counter() - started, time.process_time() - cpu, outcomes

    seconds, cpu, outcomes = asyncio.run(go())
    statuses = collections.Counter(str(o.status) if o.status is not None else (o.error or "?")[:60] for o in outcomes)
    return Phase(label, seconds, len(messages), dict(statuses), sender_cpu=cpu)


def node_web_push(ctx: Context, node: str, payload: bytes, label: str) -> Phase:
    """The reference: bench/push_fanout_node.js, webpush.sendNotification per subscription."""
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ctx.keys.vapid.private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    job = {
        "subscriptions": [{"endpoint": s.endpoint, "keys": {"p256dh": s.p256dh, "auth": s.auth}}
                          for s in ctx.subscriptions],
        "payload": payload.decode("utf-8"),
        "vapid": {"subject": ctx.subject, "publicKey": ctx.keys.public_key,
                  "privateKey": b64url(private.private_numbers().private_value.to_bytes(32, "big"))},
        "concurrency": ctx.args.concurrency, "ttl": TTL_SECONDS, "urgency": URGENCY,
        "timeoutMs": int(TIMEOUT_SECONDS * 1000),
    }
    job_path = ctx.tmp / "node-job.json"
    job_path.write_text(json.dumps(job))
    started = time.perf_counter()
    done = subprocess.run([node, str(NODE_SCRIPT), str(job_path)], capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise Failure(f"{NODE_SCRIPT.name} exited with {done.returncode}: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    statuses = {str(k): v for k, v in result["statuses"].items()}
    for error, count in result["errors"].items():
        if not error[:3].isdigit():  # no answer (an error with a status is counted under its status)
            statuses[error[:60]] = statuses.get(error[:60], 0) + count
    note = f"node process {wall:.1f} s wall, start-up and file read included"
    if done.stderr.strip():
        note += f"; stderr: {done.stderr.strip()[:200]}"
    if result["errors"]:
        note += f"; errors: {dict(list(result['errors'].items())[:3])}"
    return Phase(label, result["elapsed_s"], result["sent"], statuses, note, sender_cpu=result["cpu_s"])


def make_app(instance: Path, database_url: str):  # noqa: ANN201 - a Flask app
    from companion import create_app

    return create_app({"ENV": "development", "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": database_url,
                       "INSTANCE_PATH": str(instance), "LOG_LEVEL": "WARNING"})


def prepare_database(ctx: Context, database_url: str) -> tuple[object, float]:
    """Migrate the fresh database, insert the users and their subscriptions, queue one notice each."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from companion import timeutil
    from companion.accounts.models import User
    from companion.extensions import db
    from companion.push import services
    from companion.push.models import PushSubscription

    started = time.perf_counter()
    app = make_app(ctx.instance, database_url)
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        now = timeutil.now()
        count = len(ctx.subscriptions)
        db.session.execute(insert(User), [
            {"email": f"bench-{i}@example.org", "name": f"Bench Attendee {i}", "session_version": 1,
             "created_at": now} for i in range(count)])
        ids = dict(db.session.execute(select(User.email, User.id)).all())
        user_ids = [ids[f"bench-{i}@example.org"] for i in range(count)]
        db.session.execute(insert(PushSubscription), [
            {"user_id": user_ids[i], "endpoint": s.endpoint, "p256dh": s.p256dh, "auth": s.auth,
             "service_host": "127.0.0.1", "created_at": now} for i, s in enumerate(ctx.subscriptions)])
        queued = services.notify(user_ids, title=TITLE, body=BODY, url=URL, dedupe_key="bench:worker", now=now)
        db.session.commit()
        db.session.remove()
    if queued != count:
        raise Failure(f"services.notify queued {queued} messages, expected {count}")
    return app, time.perf_counter() - started


def worker_run(ctx: Context, app, label: str) -> Phase:  # noqa: ANN001 - a Flask app
    """Time worker.run(once=True) over the queued messages, then check every row in the database."""
    from sqlalchemy import func, select

    from companion.extensions import db
    from companion.push.models import PushMessage, PushSubscription
    from companion.push.worker import WorkerOptions, run

    options = WorkerOptions(once=True, batch_size=ctx.args.batch_size, concurrency=ctx.args.concurrency,
                            timeout=TIMEOUT_SECONDS, encrypt_processes=ctx.args.encrypt_processes)
    started, cpu = time.perf_counter(), time.process_time()
    totals = run(app, options)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    count = len(ctx.subscriptions)
    with app.app_context():
        rows = db.session.execute(
            select(PushMessage.status, func.count(), func.min(PushMessage.attempts), func.max(PushMessage.attempts),
                   func.count(PushMessage.subscription_id.distinct()))
            .group_by(PushMessage.status)).all()
        unsent = db.session.scalar(select(func.count()).select_from(PushSubscription)
                                   .where(PushSubscription.last_sent_at.is_(None)))
        errors = db.session.execute(select(PushMessage.last_error, func.count()).where(PushMessage.last_error.is_not(None))
                                    .group_by(PushMessage.last_error).limit(3)).all()
        db.session.remove()
        db.engine.dispose()
    found = [tuple(r) for r in rows]
    if found != [("sent", count, 1, 1, count)] or unsent:
        ctx.problems.append(f"{label}: database holds (status, rows, min attempts, max attempts, subscriptions) "
                            f"{found}, {unsent} subscriptions without last_sent_at; expected "
                            f"[('sent', {count}, 1, 1, {count})]; errors: {errors}")
    if totals.sent != count or totals.failed or totals.retried or totals.expired:
        ctx.problems.append(f"{label}: the worker reports {totals.sent} sent, {totals.retried} retried, "
                            f"{totals.failed} failed, {totals.expired} expired")
    statuses = {"201 (rows sent)": totals.sent} if totals.sent else {}
    for name in ("retried", "failed", "expired"):
        if getattr(totals, name):
            statuses[name] = getattr(totals, name)
    return Phase(label, seconds, count, statuses, f"{totals.batches} batches of up to {ctx.args.batch_size}; "
                                                  f"checked in the database: {found}", sender_cpu=cpu)


# --- Checks -------------------------------------------------------------------------------------


def check_statuses(ctx: Context, phase: Phase) -> None:
    good = sum(v for k, v in phase.statuses.items() if k in ("201", "201 (rows sent)"))
    if good != phase.messages:
        ctx.problems.append(f"{phase.label}: {good} of {phase.messages} answered 201; got {phase.statuses}")


def check_emulator_inboxes(ctx: Context, emulator, expected: list[bytes], label: str) -> None:  # noqa: ANN001
    """Each sampled client holds exactly the phases' payloads so far, one each, in order."""
    wanted = [p.decode("utf-8") for p in expected]
    wrong = []
    for index in ctx.sample:
        got = emulator.notifications(ctx.subscriptions[index].client_hash)
        if got != wanted:
            wrong.append((index, got))
    if wrong:
        index, got = wrong[0]
        ctx.problems.append(f"{label}: {len(wrong)} of {len(ctx.sample)} sampled clients' inboxes are wrong; "
                            f"client {index} holds {len(got)} messages {got[-2:]!r}, expected {len(wanted)}")
    stderr = emulator.stderr().strip()
    if stderr:
        ctx.problems.append(f"{label}: the emulator complained: {stderr[-500:]}")


def check_sink(ctx: Context, sink: SinkProcess, payload: bytes, label: str) -> None:
    """Every endpoint got exactly one request; the samples decrypt to the payload with a valid VAPID JWT."""
    import http_ece

    stats = sink.stats()
    count = len(ctx.subscriptions)
    if (stats["requests"], stats["distinct"], stats["max"], stats["bad"], stats["other"]) != (count, count, 1, 0, 0):
        ctx.problems.append(f"{label}: the sink saw {stats['requests']} requests to {stats['distinct']} of {count} "
                            f"endpoints (at most {stats['max']} to one), {stats['bad']} malformed, "
                            f"{stats['other']} to unknown paths")
    wrong = []
    for index in ctx.sample:
        sample = stats["samples"].get(str(index))
        subscription = ctx.subscriptions[index]
        try:
            if sample is None:
                raise ValueError("never arrived")
            plain = http_ece.decrypt(base64.b64decode(sample["body"]), private_key=subscription.private_key,
                                     auth_secret=b64url_decode(subscription.auth), version="aes128gcm")
            if plain != payload:
                raise ValueError(f"decrypted to {plain[:80]!r}")
            check_vapid(ctx, sample["authorization"], sink.url)
            if (sample["content-encoding"], sample["urgency"]) != ("aes128gcm", URGENCY) or int(sample["ttl"]) <= 0:
                raise ValueError(f"headers {sample}")
        except Exception as exc:  # noqa: BLE001 - every way a sample can be wrong is reported
            wrong.append(f"endpoint {index}: {exc}")
    if wrong:
        ctx.problems.append(f"{label}: {len(wrong)} of {len(ctx.sample)} sampled messages are wrong: {wrong[:3]}")
    sink.reset()


def check_vapid(ctx: Context, authorization: str, origin: str) -> None:
    """``vapid t=<JWT>, k=<our public key>``; the JWT signed by our key for this origin, not expired."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    fields = dict(part.strip().split("=", 1) for part in authorization.removeprefix("vapid ").split(","))
    if fields.get("k") != ctx.keys.public_key:
        raise ValueError(f"k= is not our public key: {authorization[:80]}")
    head, claims, signature = fields["t"].split(".")
    raw = b64url_decode(signature)
    ctx.keys.vapid.public_key.verify(
        encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
        f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    decoded = json.loads(b64url_decode(claims))
    if decoded.get("aud") != origin or decoded.get("sub") != ctx.subject or decoded.get("exp", 0) <= time.time():
        raise ValueError(f"claims {decoded}")


# --- The targets --------------------------------------------------------------------------------


def subscribe_emulator(emulator, public_key: str, count: int, concurrency: int) -> list[Subscription]:  # noqa: ANN001
    import aiohttp

    async def go() -> list[Subscription]:
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
            gate = asyncio.Semaphore(concurrency)

            async def one() -> Subscription:
                async with gate:
                    async with session.post(f"{emulator.url}/subscribe",
                                            json={"applicationServerKey": public_key}) as response:
                        if response.status != 200:
                            raise Failure(f"the emulator refused a subscription: {response.status} "
                                          f"{await response.text()}")
                        data = (await response.json())["data"]
                return Subscription(data["endpoint"], data["keys"]["p256dh"], data["keys"]["auth"], data["clientHash"])

            return list(await asyncio.gather(*(one() for _ in range(count))))

    return asyncio.run(go())


def sink_subscriptions(base: str, count: int) -> list[Subscription]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    made = []
    for i in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        made.append(Subscription(f"{base}/push/{i}", b64url(point), b64url(secrets.token_bytes(16)), private_key=key))
    return made


def print_phase(phase: Phase, server: str, ratio: str = "", goal: str = "") -> None:
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(phase.statuses.items()))
    per = lambda cpu: "?" if cpu is None else f"{cpu / phase.messages * 1e6:,.0f} us"  # noqa: E731
    print(f"  {phase.label:<44} {phase.seconds:8.2f} s {phase.rate:10,.0f} msg/s  {ratio:>7}  {goal}")
    print(f"  {'':<44} CPU per message: sender {per(phase.sender_cpu)}, {server} {per(phase.server_cpu)}; "
          f"answers {statuses}{'; ' + phase.note if phase.note else ''}")


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) another process has used so far (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_server_cpu(pid: int, phase_of, *args) -> Phase:  # noqa: ANN001
    """Run a phase, adding the CPU the server process (emulator or sink) used meanwhile."""
    before = process_cpu(pid)
    phase = phase_of(*args)
    after = process_cpu(pid)
    phase.server_cpu = None if before is None or after is None else after - before
    return phase


def run_emulator(args: argparse.Namespace, node: str, tmp: Path, keys, subject: str, database_url_for) -> list[str]:  # noqa: ANN001
    sys.path.insert(0, str(_support.REPO))
    from tests.pushemulator import start_push_emulator

    print("== target: the emulator (web-push-testing, one node process: checks each VAPID JWT, decrypts each message)")
    emulator = start_push_emulator()
    try:
        started = time.perf_counter()
        subscriptions = subscribe_emulator(emulator, keys.public_key, args.messages + WARMUP, args.concurrency)
        print(f"subscribed {len(subscriptions):,} clients in the emulator at {emulator.url} "
              f"in {time.perf_counter() - started:.1f} s (its /subscribe API, {args.concurrency} at once)")
        warmup, subscriptions = subscriptions[:WARMUP], subscriptions[WARMUP:]
        ctx = Context(args, tmp, tmp / "instance-emulator", keys, subject, subscriptions,
                      random.Random(SEED).sample(range(len(subscriptions)), min(args.sample, len(subscriptions))))
        make_instance(ctx.instance, tmp)
        with database_url_for(ctx.instance) as database_url:
            app, setup = prepare_database(ctx, database_url)
            print(f"database: {len(subscriptions):,} users, subscriptions and queued messages (services.notify) "
                  f"in {setup:.1f} s")
            payloads = {name: payload_for(name) for name in ("ceiling", "node", "sender")}
            payloads["worker"] = payload_for("worker")
            started = time.perf_counter()
            requests, per_message = pre_encrypt(ctx, payloads["ceiling"])
            print(f"pre-encrypted {len(requests):,} bodies in {time.perf_counter() - started:.1f} s "
                  f"({per_message * 1e6:,.0f} us per message: companion.push.encryption, one core; not timed below)")
            warm = Context(args, tmp, ctx.instance, keys, subject, warmup, [])
            warm_phase = post_all(pre_encrypt(warm, payload_for("warm-up"))[0], args.concurrency, "warm-up")
            check_statuses(ctx, warm_phase)
            print(f"warm-up: {WARMUP} pre-encrypted messages to {WARMUP} other clients, untimed "
                  f"({warm_phase.rate:,.0f} msg/s)")
            print()
            delivered: list[bytes] = []
            phases: dict[str, Phase] = {}

            def after(phase: Phase, payload: bytes) -> Phase:
                check_statuses(ctx, phase)
                delivered.append(payload)
                check_emulator_inboxes(ctx, emulator, delivered, phase.label)
                phases[phase.label] = phase
                return phase

            print("running: ceiling (1) ...", flush=True)
            pid = emulator.process.pid
            after(with_server_cpu(pid, post_all, requests, args.concurrency, "ceiling: pre-encrypted POSTs (1)"),
                  payloads["ceiling"])
            print("running: node web-push ...", flush=True)
            after(with_server_cpu(pid, node_web_push, ctx, node, payloads["node"], "Node web-push (reference)"),
                  payloads["node"])
            print("running: Sender alone ...", flush=True)
            after(with_server_cpu(pid, sender_alone, ctx, payloads["sender"], "our Sender alone (no database)"),
                  payloads["sender"])
            print("running: worker ...", flush=True)
            after(with_server_cpu(pid, worker_run, ctx, app, f"our worker end to end ({args.database})"),
                  payloads["worker"])
            print("running: ceiling (2) ...", flush=True)
            after(with_server_cpu(pid, post_all, requests, args.concurrency, "ceiling: pre-encrypted POSTs (2)"),
                  payloads["ceiling"])
    finally:
        emulator.stop()

    first, second = phases["ceiling: pre-encrypted POSTs (1)"].rate, phases["ceiling: pre-encrypted POSTs (2)"].rate
    ceiling = (first + second) / 2
    print()
    print(f"  {'phase':<44} {'time':>10} {'rate':>16}  {'ratio':>7}  goal (ratio = rate / ceiling)")
    for label, phase in phases.items():
        ratio = phase.rate / ceiling
        goal = ""
        if label.startswith("our worker"):
            goal = f">= {EMULATOR_GOAL:.2f} x ceiling: {'met' if ratio >= EMULATOR_GOAL else 'NOT MET'}"
        elif label.startswith("ceiling"):
            goal = "(ceiling)"
        else:
            goal = "(information)"
        print_phase(phase, "emulator", f"{ratio:.2f}", goal)
    spread = abs(first - second) / ceiling
    print(f"  ceiling = mean of its two runs = {ceiling:,.0f} messages/s (runs differ by {spread:.0%}); "
          f"{len(ctx.sample)} sampled inboxes checked after every phase")
    if spread > 0.10:
        print("  note: the two ceiling runs differ by more than 10%: the machine was busy; run again")
    worker = next(p for label, p in phases.items() if label.startswith("our worker"))
    print(f"  => emulator goal (worker >= {EMULATOR_GOAL:.2f} x ceiling): {worker.rate / ceiling:.2f} x, "
          f"{'met' if worker.rate / ceiling >= EMULATOR_GOAL else 'NOT MET'}")
    print()
    return ctx.problems


def run_sink(args: argparse.Namespace, node: str, tmp: Path, keys, subject: str, database_url_for) -> list[str]:  # noqa: ANN001
    print("== target: the sink (this file's --sink-serve: one Python process, raw asyncio.Protocol HTTP/1.1, "
          "keep-alive, answers 201 with no body, discards the body)")
    sample = random.Random(SEED).sample(range(args.messages), min(args.sample, args.messages))
    sink = SinkProcess(args.messages, sample, tmp)
    try:
        started = time.perf_counter()
        subscriptions = sink_subscriptions(sink.url, args.messages)
        print(f"made {len(subscriptions):,} subscriptions {sink.url}/push/<i> (P-256 p256dh, 16-byte auth) "
              f"in {time.perf_counter() - started:.1f} s")
        ctx = Context(args, tmp, tmp / "instance-sink", keys, subject, subscriptions, sample)
        make_instance(ctx.instance, tmp)
        with database_url_for(ctx.instance) as database_url:
            app, setup = prepare_database(ctx, database_url)
            print(f"database: {len(subscriptions):,} users, subscriptions and queued messages (services.notify) "
                  f"in {setup:.1f} s")
            payloads = {name: payload_for(name) for name in ("http", "node", "sender", "worker")}
            started = time.perf_counter()
            requests, per_message = pre_encrypt(ctx, payloads["http"])
            print(f"pre-encrypted {len(requests):,} bodies in {time.perf_counter() - started:.1f} s "
                  f"({per_message * 1e6:,.0f} us per message: companion.push.encryption, one core; not timed below)")
            print()
            phases: dict[str, Phase] = {}

            def after(phase: Phase, payload: bytes) -> None:
                check_statuses(ctx, phase)
                check_sink(ctx, sink, payload, phase.label)
                phases[phase.label] = phase

            print("running: pre-encrypted POSTs ...", flush=True)
            pid = sink.process.pid
            after(with_server_cpu(pid, post_all, requests, args.concurrency, "HTTP alone: pre-encrypted POSTs"),
                  payloads["http"])
            print("running: node web-push (1) ...", flush=True)
            after(with_server_cpu(pid, node_web_push, ctx, node, payloads["node"], "Node web-push (1, reference)"),
                  payloads["node"])
            print("running: Sender alone ...", flush=True)
            after(with_server_cpu(pid, sender_alone, ctx, payloads["sender"], "our Sender alone (no database)"),
                  payloads["sender"])
            print("running: worker ...", flush=True)
            after(with_server_cpu(pid, worker_run, ctx, app, f"our worker end to end ({args.database})"),
                  payloads["worker"])
            print("running: node web-push (2) ...", flush=True)
            after(with_server_cpu(pid, node_web_push, ctx, node, payloads["node"], "Node web-push (2, reference)"),
                  payloads["node"])
    finally:
        sink.stop()

    first, second = phases["Node web-push (1, reference)"].rate, phases["Node web-push (2, reference)"].rate
    reference = (first + second) / 2
    print()
    print(f"  {'phase':<44} {'time':>10} {'rate':>16}  {'ratio':>7}  goal (ratio = rate / Node web-push)")
    for label, phase in phases.items():
        ratio = phase.rate / reference
        if label.startswith("our worker"):
            met = phase.rate >= SINK_GOAL_RATE and ratio >= SINK_GOAL_NODE
            goal = (f">= {SINK_GOAL_RATE:,.0f} msg/s and >= {SINK_GOAL_NODE:.1f} x Node: "
                    f"{'met' if met else 'NOT MET'}")
        elif label.startswith("Node"):
            goal = "(reference)"
        else:
            goal = "(information)"
        print_phase(phase, "sink", f"{ratio:.2f}", goal)
    spread = abs(first - second) / reference
    print(f"  Node web-push = mean of its two runs = {reference:,.0f} messages/s (runs differ by {spread:.0%}); "
          f"every endpoint counted and {len(ctx.sample)} sampled bodies decrypted after every phase")
    if spread > 0.10:
        print("  note: the two Node runs differ by more than 10%: the machine was busy; run again")
    worker = next(p for label, p in phases.items() if label.startswith("our worker"))
    print(f"  => sink goal 1 (worker >= {SINK_GOAL_RATE:,.0f} msg/s): {worker.rate:,.0f} msg/s = "
          f"{worker.rate / SINK_GOAL_RATE:.2f} of the goal, {'met' if worker.rate >= SINK_GOAL_RATE else 'NOT MET'}")
    print(f"  => sink goal 2 (worker >= {SINK_GOAL_NODE:.1f} x Node web-push): {worker.rate / reference:.2f} x, "
          f"{'met' if worker.rate / reference >= SINK_GOAL_NODE else 'NOT MET'}")
    print()
    return ctx.problems


def make_instance(instance: Path, tmp: Path) -> None:
    """The target's instance folder, with the run's one VAPID key (every phase signs with it)."""
    from companion.push.vapid import KEY_FILE

    instance.mkdir()
    shutil.copy2(tmp / "key" / KEY_FILE, instance / KEY_FILE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages (= subscriptions), default 10000")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight, every phase (default 64)")
    parser.add_argument("--target", choices=("emulator", "sink", "both"), default="both")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--batch-size", type=int, default=500, help="the worker's batch size (default 500)")
    parser.add_argument("--sample", type=int, default=200, help="inboxes / bodies checked after each phase (default 200)")
    parser.add_argument("--encrypt-processes", type=int, default=1 if (os.cpu_count() or 1) > 1 else 0,
                        help="helper processes that encrypt, as `companion push worker` uses them (default: 1 with "
                             "more than one core)")
    parser.add_argument("--sink-serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sink-sample", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink_serve:
        serve_sink(args.messages, {int(i) for i in args.sink_sample.split(",") if i})
        return 0

    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "web-push" / "package.json").is_file() \
            or not (NODE_DIR / "node_modules" / "web-push-testing" / "package.json").is_file():
        print(f"this benchmark needs Node.js 20+ on PATH and the node packages: {INSTALL_HINT}", file=sys.stderr)
        return 2
    header(args, node)
    started = time.perf_counter()
    from companion.push.vapid import write_key_file

    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-push-") as name:
        tmp = Path(name)
        write_key_file(tmp / "key")
        from flask import Flask

        from companion.push.vapid import load_keys, subject_for

        holder = Flask("bench", instance_path=str(tmp / "key"))
        holder.config.update(ENV="development", VAPID_PRIVATE_KEY=None, VAPID_SUBJECT=None)
        keys = load_keys(holder)
        subject = subject_for(holder)
        database_url_for = lambda instance: _support.scratch_database(args.database, instance)  # noqa: E731
        try:
            if args.target in ("emulator", "both"):
                problems += run_emulator(args, node, tmp, keys, subject, database_url_for)
            if args.target in ("sink", "both"):
                problems += run_sink(args, node, tmp, keys, subject, database_url_for)
        except Failure as failure:
            problems.append(str(failure))
    for problem in problems:
        print(f"FAILED: {problem}")
    print(f"load:     {_support.load_average()} (1/5/15 min load average after the run); "
          f"whole run {time.perf_counter() - started:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
