"""The docker-compose topology, without Docker: the same entrypoint subcommands as local
processes on one Redis and one database.

Two ``web`` processes, two ``metrics`` samplers (as if the service were scaled), a Celery
``worker`` and ``beat``, after a one-shot ``migrate``, all with the production settings.
A write through one web process reaches a socket on the other, both sockets see the same
single metrics stream, and beat drives the periodic jobs through the Redis broker; nothing
is delivered twice.

Redis is a private ``redis-server`` on a free port. The database is a temporary SQLite
file, or, when ``DATABASE_URL`` is set (CI), a PostgreSQL database this test creates on
that server and drops afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.asyncio.client import ClientConnection, connect

from tests.deploy.helpers import ENTRYPOINT, production_env
from tests.support import free_port, private_postgres

pytestmark = pytest.mark.slow

HTTPS = {"X-Forwarded-Proto": "https"}  # as nginx says it, so no HTTPS redirect

_SEED = """
import json, django
django.setup()
from tests.factories import make_cohort
world = make_cohort(learners=2)
print(json.dumps({
    "cohort": world.cohort.pk,
    "mentor": world.mentor.get_username(),
    "learners": [m.pk for m in world.learners],
}))
"""


# --------------------------------------------------------------------------------------
# Redis, the database, the processes
# --------------------------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of this test: SQLite by default, PostgreSQL when DATABASE_URL is set."""
    base = os.environ.get("DATABASE_URL", "")
    if not base:
        yield f"sqlite:///{tmp_path / 'topology.sqlite3'}"
        return
    with private_postgres(base, prefix="deploy_topology") as url:
        yield url


class Processes:
    """The processes this test starts, each in its own session, stopped by their own pid."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, role: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [str(ENTRYPOINT), role],
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append((name, process))
        return process

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ENTRYPOINT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def assert_alive(self) -> None:
        for name, process in self.started:
            assert process.poll() is None, f"{name} exited:\n{self.log(name)[-3000:]}"

    def stop(self) -> None:
        for _, process in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def _wait(check, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not ready within {timeout}s")


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def topology(tmp_path: Path, redis_url: str, database_url: str) -> Iterator[dict[str, Any]]:
    """migrate, a seeded cohort, then web x2, metrics x2, worker and beat, as compose runs."""
    env = production_env(
        tmp_path,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=f"{redis_url}/0",
        CELERY_BROKER_URL=f"{redis_url}/1",
        PERIODIC_JOBS="celery",
        PERIODIC_INTERVAL="2",
        METRICS_SAMPLER_IN_PROCESS="false",
        HOST="127.0.0.1",
        LOG_FORMAT="json",
        CELERY_CONCURRENCY="1",
        CELERY_BEAT_SCHEDULE_FILE=str(tmp_path / "celerybeat-schedule"),
        WRITE_THROTTLE="off",
    )
    if database_url.startswith("sqlite:"):
        del env["DATABASE_URL"]
        env["SQLITE_PATH"] = database_url.removeprefix("sqlite:///")
    procs = Processes(env, tmp_path)
    try:
        migrated = procs.run("migrate")
        assert migrated.returncode == 0, migrated.stderr
        seeded = procs.run("python", "-c", _SEED)
        assert seeded.returncode == 0, seeded.stderr
        world = json.loads(seeded.stdout.strip().splitlines()[-1])

        ports = [free_port(), free_port()]
        for i, port in enumerate(ports, start=1):
            procs.start(f"web{i}", "web", PORT=str(port))
        procs.start("metrics1", "metrics")
        procs.start("metrics2", "metrics")
        procs.start("worker", "worker")
        procs.start("beat", "beat")
        for port in ports:
            _wait(lambda port=port: _healthy(port), f"web on {port}", timeout=60)
        procs.assert_alive()
        yield {"procs": procs, "ports": ports, "world": world, "env": env}
    finally:
        procs.stop()


# --------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------


def _token(port: int, username: str) -> str:
    response = requests.post(
        f"http://127.0.0.1:{port}/api/auth/token/",
        json={"username": username, "password": username},
        headers=HTTPS,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access"]


def _api(port: int, token: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(
        method,
        f"http://127.0.0.1:{port}{path}",
        headers={**HTTPS, "Authorization": f"Bearer {token}"},
        timeout=10,
        **kwargs,
    )


class Live:
    """A program's socket on ``/ws/live/``: token auth, then JSON frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, port: int, token: str) -> Live:
        ws = await connect(f"ws://127.0.0.1:{port}/ws/live/", open_timeout=10)
        live = cls(ws)
        await live.send({"type": "auth", "token": token})
        welcome = await live.next_of("welcome")
        assert welcome["user"]["name"]
        return live

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def next_of(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {kind} frame within {timeout}s; got {self.frames[-5:]}"
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            self.frames.append(frame)
            if frame["type"] == kind:
                return frame

    async def collect(self, seconds: float) -> list[dict[str, Any]]:
        """Return every frame received in the next ``seconds``."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frame = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            except TimeoutError:
                break
            self.frames.append(frame)
            got.append(frame)
        return got

    def events(self, topic: str) -> list[dict[str, Any]]:
        """Return the events received on ``topic``, in arrival order."""
        out: list[dict[str, Any]] = []
        for frame in self.frames:
            if frame.get("topic") != topic:
                continue
            if frame["type"] == "event":
                out.append(frame["event"])
            elif frame["type"] == "events":
                out.extend(frame["events"])
        return out

    async def close(self) -> None:
        await self.ws.close()


async def _until(predicate, timeout: float, *sockets: Live) -> None:
    """Read the sockets until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.gather(*(s.collect(0.3) for s in sockets))


# --------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------


async def test_compose_topology_as_local_processes(topology):
    procs: Processes = topology["procs"]
    web1, web2 = topology["ports"]
    world = topology["world"]
    cohort = world["cohort"]
    topic = f"cohort:{cohort}"

    # Both replicas are healthy and ready (database and Redis), as the compose healthcheck
    # and the load balancer see them.
    for port in (web1, web2):
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
        check = await asyncio.to_thread(
            subprocess.run,
            [str(ENTRYPOINT), "healthcheck"],
            env={**topology["env"], "PORT": str(port)},
            capture_output=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr

    token = await asyncio.to_thread(_token, web1, world["mentor"])
    head = await asyncio.to_thread(_api, web1, token, "GET", f"/api/cohorts/{cohort}/snapshot/")
    since = head.json()["seq"]

    # One socket on each replica, subscribed to the cohort from the same seq.
    on1, on2 = await Live.open(web1, token), await Live.open(web2, token)
    try:
        for live in (on1, on2):
            await live.send({"type": "subscribe", "topic": topic, "since": since})
            subscribed = await live.next_of("subscribed")
            assert subscribed["topic"] == topic

        # A write through web1 reaches the socket on web2.
        learner = world["learners"][0]
        write = await asyncio.to_thread(
            _api,
            web1,
            token,
            "PATCH",
            f"/api/cohorts/{cohort}/progress/{learner}/docker/",
            json={"status": "in_progress", "version": 1},
        )
        assert write.status_code == 200, write.text
        seq = write.json()["seq"]
        await _until(
            lambda: (
                seq in [e["seq"] for e in on2.events(topic)]
                and seq in [e["seq"] for e in on1.events(topic)]
            ),
            10,
            on1,
            on2,
        )
        [delivered] = [e for e in on2.events(topic) if e["seq"] == seq]
        assert delivered["kind"] == "progress.updated"
        assert delivered["data"]["milestone"] == "docker"

        # Beat (every 2 s) sends the at-risk job through the Redis broker to the worker,
        # whose events reach both replicas' sockets: the two learners are overdue.
        def at_risk(live: Live) -> list[dict[str, Any]]:
            return [e for e in live.events(topic) if e["kind"] == "learner.at_risk"]

        await _until(lambda: len(at_risk(on1)) >= 2 and len(at_risk(on2)) >= 2, 60, on1, on2)
        assert sorted(e["data"]["learner"]["id"] for e in at_risk(on2)) == sorted(world["learners"])

        # Both samplers run; exactly one publishes, and both replicas relay that one stream.
        for live in (on1, on2):
            await live.send({"type": "subscribe", "topic": "metrics:cache"})
        await asyncio.gather(on1.collect(4.5), on2.collect(4.5))

        # Several more beats: the jobs stay idempotent, nothing was delivered twice.
        await asyncio.gather(on1.collect(2.5), on2.collect(2.5))
        log = await asyncio.to_thread(
            _api, web2, token, "GET", f"/api/cohorts/{cohort}/events/?after={since}"
        )
        logged = [e["seq"] for e in log.json()["results"]]
        assert [e["kind"] for e in log.json()["results"]].count("learner.at_risk") == 2
        for live in (on1, on2):
            seqs = [e["seq"] for e in live.events(topic)]
            # Each event once, in order, no gap (the log may have grown since: a prefix).
            assert seqs == list(range(since + 1, since + 1 + len(seqs)))
            assert seqs == logged[: len(seqs)]
            assert {seq, *(e["seq"] for e in at_risk(live))} <= set(seqs)

        samples = {
            name: [f["sample"]["at"] for f in live.frames if f["type"] == "metrics"]
            for name, live in (("web1", on1), ("web2", on2))
        }
        for name, stamps in samples.items():
            assert len(stamps) >= 3, f"{name} got {stamps}"
            # The first frame is the latest sample, sent at once on subscribe; the live
            # stream follows. (The hub can repeat a sample published while it fetched
            # that latest one: a realtime-layer race, so the first is compared with <=.)
            latest, live = stamps[0], stamps[1:]
            assert live == sorted(set(live)), f"{name}: a live sample twice or out of order"
            assert latest <= live[0], f"{name}: {stamps}"
            # One sample a second from one publisher: two samplers would halve the gaps.
            assert len(live) <= 8, f"{name} got {len(live)} live samples in about 7 s"
        shared = set(samples["web1"]) & set(samples["web2"])
        assert len(shared) >= 2, "both replicas relay the same stream"
    finally:
        await asyncio.gather(on1.close(), on2.close())

    procs.assert_alive()
    # The web logs are JSON lines with request ids; the write's line is there.
    lines = [
        json.loads(line)
        for line in procs.log("web1").splitlines()
        if line.startswith("{") and '"dashboard.access"' in line
    ]
    patch = [entry for entry in lines if entry["method"] == "PATCH"]
    assert patch and patch[0]["status"] == 200 and len(patch[0]["request_id"]) == 32

    # The worker ran the tasks beat sent (the presence sweep against Redis presence too),
    # and no process logged an error.
    succeeded = set(re.findall(r"Task (dashboard\.\w+)\[[^]]+\] succeeded", procs.log("worker")))
    assert {"dashboard.presence_sweep", "dashboard.at_risk_recompute"} <= succeeded
    for name in ("web1", "web2", "metrics1", "metrics2", "worker", "beat"):
        errors = [
            line
            for line in procs.log(name).splitlines()
            if '"level": "ERROR"' in line or "Traceback" in line
        ]
        assert not errors, f"{name}: {errors[:3]}"


def test_embedded_mode_runs_the_periodic_jobs_in_the_server_process(tmp_path):
    """No broker, no Redis: one web process of the embedded default runs the jobs itself."""
    env = production_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="dashboard.settings.base",
        PERIODIC_JOBS="inprocess",
        PERIODIC_INTERVAL="1",
        HOST="127.0.0.1",
        LOG_FORMAT="plain",
    )
    procs = Processes(env, tmp_path)
    try:
        assert procs.run("migrate").returncode == 0
        seeded = procs.run("python", "-c", _SEED)
        assert seeded.returncode == 0, seeded.stderr
        world = json.loads(seeded.stdout.strip().splitlines()[-1])
        port = free_port()
        procs.start("web", "web", PORT=str(port))
        _wait(lambda: _healthy(port), "web", timeout=60)
        token = _token(port, world["mentor"])
        path = f"/api/cohorts/{world['cohort']}/events/?after=0"

        def kinds() -> list[str]:
            return [e["kind"] for e in _api(port, token, "GET", path).json()["results"]]

        _wait(lambda: kinds().count("learner.at_risk") == 2, "in-process jobs", timeout=30)
        _wait(lambda: "report.daily" in kinds(), "the digest", timeout=10)
        time.sleep(2.5)  # more runs: nothing doubles
        assert kinds().count("learner.at_risk") == 2
        assert kinds().count("report.daily") == 1
        procs.assert_alive()
    finally:
        procs.stop()
    assert "started periodic-jobs" in procs.log("web")
