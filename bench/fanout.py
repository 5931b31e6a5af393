"""WebSocket fan-out benchmark: N subscribers of one cohort, REST writes at R/s.

Starts its own world (a temp SQLite file, a private redis-server when asked, 1 or 2
uvicorn server processes), connects N clients from a lean load generator (several
processes of raw asyncio sockets with a minimal WebSocket client: no library framing, the
``seq`` read straight from the frame bytes), writes through the REST API at R writes/s and
reports: connect time, delivered/expected (with duplicates and gaps per socket), latency
from the event's commit (its ``at``, stamped in the write's transaction) to receipt at each
client (p50/p99/max, and per event to its *last* client), REST write latency, and the
server processes' CPU and RSS per connection.

Examples (see docs/performance.md for the figures):

    .venv/bin/python bench/fanout.py --clients 1000 --rate 20
    .venv/bin/python bench/fanout.py --clients 1000 --rate 20 --baseline    # tutorial way
    .venv/bin/python bench/fanout.py --clients 5000 --rate 5 --workers 3
    .venv/bin/python bench/fanout.py --clients 10000 --rate 5 --servers 2   # Redis
    .venv/bin/python bench/fanout.py --clients 1000 --rate 50 --redis
    .venv/bin/python bench/fanout.py --clients 19000 --idle --workers 4     # idle RSS
    .venv/bin/python bench/fanout.py --clients 1000 --rate 20 --learner-share 0.5 --scored
                                             # privacy by role: two audiences per event

It is a benchmark, not a test: run it on a quiet machine, it uses every core it gets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable

from dashboard import serve  # noqa: E402  (after the path)

CLK_TCK = os.sysconf("SC_CLK_TCK")

SEED = """
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
from dashboard.models import Cohort, Milestone, Program
from dashboard.services.cohorts import learner_add, mentor_add
program = Program.objects.create(name="Bench", slug="bench")
for i, slug in enumerate(["python", "django", "docker"], start=1):
    Milestone.objects.create(program=program, slug=slug, title=slug, order=i, week=i)
start = timezone.localdate() - timedelta(weeks=1)
cohort = Cohort.objects.create(program=program, name="Bench", start_date=start,
                               end_date=start + timedelta(weeks=10))
mentor = User.objects.create_user("mentor", password="mentor")
mentor_add(cohort=cohort, user=mentor)
for i in range({users}):
    user = User.objects.create_user(f"viewer{{i}}", password=f"viewer{{i}}")
    mentor_add(cohort=cohort, user=user)
for i in range({learners}):
    learner_add(actor=mentor, cohort=cohort,
                user=User.objects.create_user(f"learner{{i}}", password=f"learner{{i}}"))
print(cohort.pk)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mark(what: str) -> None:
    """Timestamp a phase on stderr in the servers' log format."""
    stamp = f"{datetime.now():%Y-%m-%d %H:%M:%S,%f}"[:23]
    print(stamp, "bench:", what, file=sys.stderr, flush=True)


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit (the servers and workers inherit it) to
    ``wanted`` when allowed (root may raise the hard limit), else to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(wanted, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def parse_at(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------------------
# The process under test
# --------------------------------------------------------------------------------------


def proc_stats(pid: int) -> tuple[float, int]:
    """Return (cpu seconds, rss bytes) of a process from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    return cpu, rss


class World:
    """Temp database, optional private Redis, and the server processes."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
        self.redis: subprocess.Popen | None = None
        self.servers: list[subprocess.Popen] = []
        self.ports: list[int] = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-" + secrets.token_urlsafe(48),
            "SQLITE_PATH": str(self.tmp / "db.sqlite3"),
            "SIMULATE": "0",
            # One token stands in for many people: no cap on sockets per user.
            "WS_MAX_SOCKETS_PER_USER": "0",
            "WRITE_THROTTLE": "off",
            "PERIODIC_JOBS": "off",
            "METRICS_SAMPLER_IN_PROCESS": "0",
            "LOG_LEVEL": "WARNING",
            "REALTIME_CHANNEL_LAYER": args.layer,
        }
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        self.postgres: Any = None

    def _database(self) -> None:
        """A private PostgreSQL database on the server --postgres names (dropped at stop):
        several server processes need one (SQLite serves one process)."""
        from tests.support import private_postgres

        self.postgres = private_postgres(self.args.postgres, prefix="dash_bench")
        self.env["DATABASE_URL"] = self.postgres.__enter__()

    def start(self) -> int:
        args = self.args
        if args.redis or args.servers > 1:
            port = free_port()
            self.redis = subprocess.Popen(
                [
                    shutil.which("redis-server") or "/usr/bin/redis-server",
                    *("--port", str(port), "--bind", "127.0.0.1", "--save", ""),
                    *("--appendonly", "no", "--dir", str(self.tmp)),
                ],
                stdout=subprocess.DEVNULL,
            )
            self.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            time.sleep(0.3)
        if args.postgres:
            self._database()
        manage = [PYTHON, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=self.env, check=True)
        seed = SEED.format(users=args.users, learners=args.learners)
        out = subprocess.run(
            [*manage, "shell", "-c", seed], env=self.env, check=True, capture_output=True
        )
        cohort_id = int(out.stdout.decode().split()[-1])
        app = "bench.tutorial_asgi:application" if args.baseline else "dashboard.asgi:application"
        for _ in range(args.servers):
            port = free_port()
            self.ports.append(port)
            command = serve.command(
                *("--host", "127.0.0.1", "--port", str(port)),
                *("--log-level", "warning", "--backlog", "4096"),
                app=app,
            )
            if args.profile:
                command[1:1] = ["-m", "cProfile", "-o", args.profile]
            self.servers.append(
                subprocess.Popen(
                    command,
                    env=self.env,
                    cwd=ROOT,
                )
            )
        for port in self.ports:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
        return cohort_id

    def stats(self) -> list[tuple[float, int]]:
        return [proc_stats(p.pid) for p in self.servers]

    def stop(self) -> None:
        for proc in self.servers:
            proc.send_signal(signal.SIGTERM)
        for proc in self.servers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait()
        if self.postgres is not None:
            self.postgres.__exit__(None, None, None)
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------
# The load generator: a minimal WebSocket client on raw asyncio sockets
# --------------------------------------------------------------------------------------

SEQ_MARK = b'"event":{"seq":'


def client_frame(text: str) -> bytes:
    """A masked text frame with a zero mask (valid, and no XOR work)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes([0x81, 0x80 | n])
    elif n < 65536:
        header = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
    return header + b"\x00\x00\x00\x00" + payload


class Recorder:
    def __init__(self) -> None:
        self.times: dict[int, array] = {}
        self.duplicates = 0
        self.gaps = 0
        self.closes: dict[int, int] = {}
        self.connect_times: list[float] = []
        self.failures = 0


class Client(asyncio.Protocol):
    def __init__(self, rec: Recorder, token: str, topic: str, ready: asyncio.Future) -> None:
        self.rec = rec
        self.token = token
        self.topic = topic
        self.ready = ready
        self.buf = bytearray()
        self.upgraded = False
        self.last_seq = -1
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(
            b"GET /ws/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )

    def send(self, frame: dict) -> None:
        self.transport.write(client_frame(json.dumps(frame)))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self._fail()
                return
            del buf[: end + 4]
            self.upgraded = True
            self.send({"type": "auth", "token": self.token})
        # Frames are read in place and the buffer is trimmed once per read: a read that
        # holds a batch of frames costs one memmove, not one per frame.
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            opcode = buf[pos] & 0x0F
            length = buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if end - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                start = pos + 4
            elif length == 127:
                if end - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            stop = start + length
            if stop > end:
                break
            pos = stop
            if opcode == 1:
                at = buf.find(SEQ_MARK, start, min(stop, start + 80))
                if at >= 0:  # an ``event`` frame: read the seq without decoding the JSON
                    first = at + len(SEQ_MARK)
                    self._record(int(buf[first : buf.index(b",", first, stop)]), now)
                else:
                    self._text(bytes(buf[start:stop]), now)
            elif opcode == 8:
                payload = buf[start:stop]
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.rec.closes[code] = self.rec.closes.get(code, 0) + 1
                self.transport.close()
            elif opcode == 9:  # ping: pong with the same payload
                payload = bytes(buf[start:stop])
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
        if pos:
            del buf[:pos]

    def _record(self, seq: int, now: float) -> None:
        rec = self.rec
        if seq <= self.last_seq:
            rec.duplicates += 1
            return
        if self.last_seq >= 0 and seq != self.last_seq + 1:
            rec.gaps += 1
        self.last_seq = seq
        times = rec.times.get(seq)
        if times is None:
            times = rec.times[seq] = array("d")
        times.append(now)

    def _text(self, payload: bytes, now: float) -> None:
        at = payload.find(SEQ_MARK, 0, 80)
        if at >= 0:  # an ``event`` frame: read the seq without decoding the JSON
            start = at + len(SEQ_MARK)
            end = payload.index(b",", start)
            self._record(int(payload[start:end]), now)
            return
        frame = json.loads(payload)
        kind = frame.get("type")
        if kind == "event":  # another server's spacing (the baseline's json.dumps)
            self._record(frame["event"]["seq"], now)
        elif kind == "events":
            for event in frame["events"]:
                self._record(event["seq"], now)
        elif kind == "welcome":
            self.send({"type": "subscribe", "topic": self.topic})
        elif kind == "subscribed":
            self.last_seq = frame["seq"]
            if not self.ready.done():
                self.ready.set_result(now)
        elif kind == "error":
            self._fail()

    def _fail(self) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError("refused"))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError("lost"))


def worker_main(
    conn: Any,
    ports: list[int],
    tokens: list[str],
    topic: str,
    n: int,
    seed: int,
    nice: int,
    churn: float = 0,
):
    """One load-generator process: ``n`` clients spread over the servers; once they are
    connected, ``churn`` of them a second close and are replaced by new ones."""
    if nice:
        # The clients stand in for other machines: they yield the shared cores to the
        # servers when both want them (the REST writer keeps the normal priority).
        os.nice(nice)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        rec = Recorder()
        clients: list[Client] = []
        gate = asyncio.Semaphore(100)

        async def open_one(i: int) -> None:
            async with gate:
                started = time.time()
                ready = loop.create_future()
                port = ports[(seed + i) % len(ports)]
                token = tokens[(seed + i) % len(tokens)]
                try:
                    _, client = await loop.create_connection(
                        lambda: Client(rec, token, topic, ready), "127.0.0.1", port
                    )
                    await asyncio.wait_for(ready, 60)
                    clients.append(client)  # pinged from now on (a ping first is a 4401)
                    rec.connect_times.append(time.time() - started)
                except Exception:
                    rec.failures += 1

        async def keepalive() -> None:
            # Every socket pings at least every 20 s from the start (the server closes
            # sockets silent for 60 s), a slice of them each second.
            ping = client_frame('{"type":"ping"}')
            tick = 0
            while True:
                await asyncio.sleep(1)
                tick += 1
                for i, client in enumerate(clients):
                    transport = client.transport
                    if i % 20 == tick % 20 and transport and not transport.is_closing():
                        transport.write(ping)

        async def replace_some() -> None:
            # People leaving and arriving: every 100 ms a tenth of a second's churn, the
            # oldest sockets first, each replaced by a new one (its own user and port).
            owed, opened = 0.0, n
            opening: set[asyncio.Task] = set()
            while True:
                await asyncio.sleep(0.1)
                owed += churn / 10
                while owed >= 1 and clients:
                    owed -= 1
                    transport = clients.pop(0).transport
                    if transport is not None:
                        transport.abort()
                    opened += 1
                    task = asyncio.create_task(open_one(opened))
                    opening.add(task)
                    task.add_done_callback(opening.discard)

        pinger = asyncio.create_task(keepalive())
        started = time.time()
        await asyncio.gather(*(open_one(i) for i in range(n)))
        conn.send(("connected", len(rec.connect_times), rec.failures, time.time() - started))
        churner = asyncio.create_task(replace_some()) if churn else None
        await loop.run_in_executor(None, conn.recv)  # "stop"
        pinger.cancel()
        if churner is not None:
            churner.cancel()
        conn.send(
            (
                "result",
                {seq: list(times) for seq, times in rec.times.items()},
                rec.duplicates,
                rec.gaps,
                rec.closes,
                rec.connect_times,
            )
        )
        await loop.run_in_executor(None, conn.recv)  # "exit"
        for client in clients:
            if client.transport is not None:
                client.transport.abort()

    asyncio.run(run())


# --------------------------------------------------------------------------------------
# The writer: REST PATCHes at a fixed rate (open loop)
# --------------------------------------------------------------------------------------


class Writer:
    def __init__(
        self,
        ports: list[int],
        token: str,
        cohort_id: int,
        learners: list[int],
        scored: bool = False,
    ) -> None:
        # Write i goes to server i mod N, as a round-robin proxy would spread them.
        self.bases = [f"http://127.0.0.1:{port}/api/cohorts/{cohort_id}/progress" for port in ports]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.cells = [(lid, slug) for lid in learners for slug in ("python", "django", "docker")]
        self.versions = {cell: 1 for cell in self.cells}
        self.status = dict.fromkeys(self.cells, "not_started")
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors = 0
        self.seqs: list[int] = []
        self.responded: dict[int, float] = {}  # seq -> when the writer got its 200
        self.local = threading.local()
        # Scored writes (completed with a score, then reopened) have a redacted form for
        # learners; status-only writes look the same to everyone.
        self.scored = scored

    def reset(self) -> None:
        """Forget what was measured (the cells' versions stay known)."""
        with self.lock:
            self.latencies.clear()
            self.seqs.clear()
            self.responded.clear()
            self.errors = 0

    def write(self, i: int) -> None:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        cell = self.cells[i % len(self.cells)]
        with self.lock:  # one writer per cell at a time (cells > threads)
            version = self.versions[cell]
            if self.scored:
                status = "completed" if self.status[cell] != "completed" else "in_progress"
            else:
                status = "in_progress" if self.status[cell] != "in_progress" else "submitted"
        body: dict[str, Any] = {"status": status, "version": version}
        if status == "completed":
            body["score"] = 80
        started = time.time()
        try:
            response = session.patch(
                f"{self.bases[i % len(self.bases)]}/{cell[0]}/{cell[1]}/",
                json=body,
                headers=self.headers,
                timeout=10,
            )
            elapsed = time.time() - started
            if response.status_code != 200:
                self.errors += 1
                return
            body = response.json()
            with self.lock:
                self.versions[cell] = body["version"]
                self.status[cell] = body["status"]
                self.latencies.append(elapsed)
                self.seqs.append(body["seq"])
                self.responded[body["seq"]] = started + elapsed
        except requests.RequestException:
            self.errors += 1

    def run(self, rate: float, duration: float) -> None:
        from concurrent.futures import ThreadPoolExecutor

        threads = max(8, int(rate // 2))  # enough in flight to hold the rate open-loop
        total = int(rate * duration)
        started = time.monotonic()
        with ThreadPoolExecutor(threads) as pool:
            for i in range(total):
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self.write, i)


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


def tokens_for(port: int, users: list[str]) -> list[str]:
    out = []
    for user in users:
        r = requests.post(
            f"http://127.0.0.1:{port}/api/auth/token/",
            json={"username": user, "password": user},
            timeout=10,
        )
        r.raise_for_status()
        out.append(r.json()["access"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20, help="REST writes a second")
    parser.add_argument("--duration", type=float, default=10, help="seconds of writes")
    parser.add_argument("--servers", type=int, default=1, help="server processes (2: Redis)")
    parser.add_argument("--redis", action="store_true", help="Redis even with one server")
    parser.add_argument(
        "--postgres",
        default="",
        metavar="URL",
        help="PostgreSQL server for a private database (e.g. postgres://postgres@127.0.0.1/test)",
    )
    parser.add_argument("--layer", choices=["pubsub", "core"], default="pubsub")
    parser.add_argument("--baseline", action="store_true", help="the Channels tutorial way")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of the load-generator processes (e.g. 10: they yield the cores to "
        "the servers, as clients on other machines would)",
    )
    parser.add_argument("--users", type=int, default=20, help="distinct viewers (presence)")
    parser.add_argument("--learners", type=int, default=20, help="learners written to")
    parser.add_argument(
        "--learner-share",
        type=float,
        default=0.0,
        metavar="S",
        help="share of the sockets (0-1) that are learners of the cohort (privacy by role: "
        "they get peers' events redacted); the rest are mentors",
    )
    parser.add_argument(
        "--scored",
        action="store_true",
        help="writes complete cells with a score and reopen them (events learners get "
        "redacted) instead of moving statuses",
    )
    parser.add_argument("--idle", action="store_true", help="connect and hold, no writes")
    parser.add_argument("--hold", type=float, default=5, help="seconds to hold when --idle")
    parser.add_argument(
        "--churn",
        type=float,
        default=0,
        metavar="R",
        help="with --idle: R sockets a second close and are replaced by new ones",
    )
    parser.add_argument(
        "--linger",
        type=float,
        default=0,
        metavar="S",
        help="keep the servers S seconds after the clients leave (what leaving costs: GC log)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--profile", default="", help="cProfile the server into this file")
    parser.add_argument("--drain", type=float, default=5, help="seconds to wait after writes")
    parser.add_argument(
        "--warmup",
        type=float,
        default=0,
        help="seconds of writes at the same rate before the measured ones (not counted)",
    )
    args = parser.parse_args()
    # A socket is a descriptor on each side: one server holds them all with --servers 1.
    fd_limit = raise_fd_limit(args.clients + 4096)

    world = World(args)
    workers: list[tuple[Any, Any]] = []
    try:
        cohort_id = world.start()
        port = world.ports[0]
        # Clients take the tokens round-robin: with --learner-share S, S of them learners
        # (learner0... are also the learners written to: some sockets are the subject).
        as_learners = min(args.learners, round(args.users * args.learner_share))
        viewer_names = [f"learner{i}" for i in range(as_learners)]
        viewer_names += [f"viewer{i}" for i in range(args.users - as_learners)]
        tokens = tokens_for(port, viewer_names)
        writer_token = tokens_for(port, ["mentor"])[0]
        learners = [
            row["id"]
            for row in requests.get(
                f"http://127.0.0.1:{port}/api/cohorts/{cohort_id}/snapshot/",
                headers={"Authorization": f"Bearer {writer_token}"},
                timeout=30,
            ).json()["learners"]
        ]
        time.sleep(0.5)
        idle_stats = world.stats()

        ctx = mp.get_context("fork")
        per = [
            args.clients // args.workers + (i < args.clients % args.workers)
            for i in range(args.workers)
        ]
        for i, n in enumerate(per):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=worker_main,
                args=(
                    *(child, world.ports, tokens, f"cohort:{cohort_id}", n, i, args.nice),
                    args.churn / args.workers,
                ),
                daemon=True,
            )
            proc.start()
            workers.append((parent, proc))
        connected = failures = 0
        connect_wall = 0.0
        for parent, _ in workers:
            _, ok, failed, wall = parent.recv()
            connected += ok
            failures += failed
            connect_wall = max(connect_wall, wall)
        mark(f"{connected} clients connected")
        time.sleep(1.0)
        held_stats = world.stats()

        writer = Writer(world.ports, writer_token, cohort_id, learners, scored=args.scored)
        if args.idle:
            # What holding the sockets costs: pings, sweeps, presence heartbeats.
            stats_cpu = world.stats()
            gen_before = [proc_stats(proc.pid)[0] for _, proc in workers]
            started = time.monotonic()
            time.sleep(args.hold)
            run_stats = world.stats()
            wall = time.monotonic() - started
            gen_cpu = sum(proc_stats(p.pid)[0] for _, p in workers) - sum(gen_before)
        else:
            if args.warmup:
                # The same writes, uncounted: the first requests of each server thread,
                # and the collector's first full passes over the sockets just opened.
                writer.run(args.rate, args.warmup)
                time.sleep(0.5)
                writer.reset()
            started = time.monotonic()
            before = world.stats()
            gen_before = [proc_stats(proc.pid)[0] for _, proc in workers]
            # Marks on stderr, beside the servers' log lines (collector pauses, ...).
            mark("measured writes start")
            writer.run(args.rate, args.duration)
            wall = time.monotonic() - started
            mark("measured writes end")
            run_stats = world.stats()
            gen_cpu = sum(proc_stats(p.pid)[0] for _, p in workers) - sum(gen_before)
            time.sleep(args.drain)  # let the last events arrive
            stats_cpu = before

        deliveries: dict[int, list[float]] = {}
        duplicates = gaps = 0
        closes: dict[int, int] = {}
        connect_times: list[float] = []
        for parent, _ in workers:
            parent.send("stop")
        for parent, _ in workers:
            _, times, dup, gap, cl, ct = parent.recv()
            for seq, values in times.items():
                deliveries.setdefault(seq, []).extend(values)
            duplicates += dup
            gaps += gap
            for code, count in cl.items():
                closes[code] = closes.get(code, 0) + count
            connect_times.extend(ct)

        report: dict[str, Any] = {
            "mode": "baseline (tutorial consumer)" if args.baseline else "hub",
            "clients": args.clients,
            "connected": connected,
            "connect_failures": failures,
            "connect_wall_s": round(connect_wall, 2),
            "connect_p50_ms": round(pct(connect_times, 0.5) * 1000, 1),
            "connect_p99_ms": round(pct(connect_times, 0.99) * 1000, 1),
            "servers": args.servers,
            "redis": bool(world.redis),
            "layer": args.layer if world.redis else "in-memory",
            "closes": closes,
            "native_send": os.environ.get("WS_NATIVE_SEND", "1"),
            "fd_limit": fd_limit,
            "loadgen_nice": args.nice,
        }
        rss_per_conn = [
            (held[1] - idle[1]) / max(1, connected / args.servers)
            for idle, held in zip(idle_stats, held_stats, strict=True)
        ]
        report["rss_idle_mb"] = [round(s[1] / 2**20, 1) for s in idle_stats]
        report["rss_held_mb"] = [round(s[1] / 2**20, 1) for s in held_stats]
        report["rss_per_conn_kb"] = [round(r / 1024, 1) for r in rss_per_conn]
        if args.idle:
            # RSS at the end of the hold: with --churn, what replacing sockets leaves behind.
            report["rss_end_mb"] = [round(s[1] / 2**20, 1) for s in run_stats]
            report["replaced"] = len(connect_times) - connected

        report["cpu_percent"] = [
            round((r[0] - b[0]) / wall * 100, 1) for b, r in zip(stats_cpu, run_stats, strict=True)
        ]
        # The load generator's share of the same 2 cores (all its processes).
        report["loadgen_cpu_percent"] = round(gen_cpu / wall * 100, 1)
        if not args.idle:
            events = {}
            after = min(writer.seqs) - 1 if writer.seqs else 0
            while writer.seqs and after < max(writer.seqs):
                page = requests.get(
                    f"http://127.0.0.1:{port}/api/cohorts/{cohort_id}/events/",
                    params={"after": after, "limit": 500},
                    headers={"Authorization": f"Bearer {writer_token}"},
                    timeout=30,
                ).json()["results"]
                if not page:
                    break
                for event in page:
                    events[event["seq"]] = parse_at(event["at"])
                after = page[-1]["seq"]
            written = sorted(set(writer.seqs))
            latencies: list[float] = []
            from_response: list[float] = []
            last_client: list[float] = []
            delivered = 0
            for seq in written:
                times = deliveries.get(seq, [])
                delivered += len(times)
                if times and seq in events:
                    lat = [t - events[seq] for t in times]
                    latencies.extend(lat)
                    if seq in writer.responded:
                        from_response.extend(t - writer.responded[seq] for t in times)
                    if len(times) == connected:
                        last_client.append(max(lat))
            expected = len(written) * connected
            report.update(
                {
                    "writes": len(written),
                    "write_errors": writer.errors,
                    "rate_achieved": round(len(written) / wall, 1),
                    "delivered": delivered,
                    "expected": expected,
                    "delivered_ratio": round(delivered / expected, 5) if expected else None,
                    "deliveries_per_s": round(delivered / wall),
                    "duplicates": duplicates,
                    "gaps": gaps,
                    "latency_p50_ms": round(pct(latencies, 0.5) * 1000, 1),
                    "latency_p99_ms": round(pct(latencies, 0.99) * 1000, 1),
                    "latency_max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
                    "after_response_p50_ms": round(pct(from_response, 0.5) * 1000, 1),
                    "after_response_p99_ms": round(pct(from_response, 0.99) * 1000, 1),
                    "last_client_p50_ms": round(pct(last_client, 0.5) * 1000, 1),
                    "last_client_p99_ms": round(pct(last_client, 0.99) * 1000, 1),
                    "write_p50_ms": round(pct(writer.latencies, 0.5) * 1000, 1),
                    "write_p90_ms": round(pct(writer.latencies, 0.9) * 1000, 1),
                    "write_p99_ms": round(pct(writer.latencies, 0.99) * 1000, 1),
                    "write_max_ms": round(max(writer.latencies, default=float("nan")) * 1000, 1),
                    "warmup_s": args.warmup,
                }
            )
        if args.json:
            print(json.dumps(report))
        else:
            width = max(len(k) for k in report)
            for key, value in report.items():
                print(f"{key:<{width}}  {value}")
    finally:
        for parent, proc in workers:
            with contextlib.suppress(Exception):
                parent.send("exit")
            proc.join(5)
            if proc.is_alive():
                proc.kill()
        if args.linger:
            mark("clients gone")
            time.sleep(args.linger)
        world.stop()


if __name__ == "__main__":
    main()
