"""End to end, with real processes: a served dashboard whose cache metrics reach a WebSocket
subscriber (the latest sample at once, then one a second) and move when it is used.

Two deployments: the embedded default (the sampler inside the server process, locmem) and
Redis (the server plus a separate ``metrics_pump``, counters meeting in Redis).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from tests.support import REDIS_SERVER, free_port, uvicorn_command

pytest_plugins = ["tests.dashboard.cache_fixtures"]

ROOT = Path(__file__).resolve().parents[2]


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def _env(sqlite: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
        "SQLITE_PATH": str(sqlite),
        "SIMULATE": "0",
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "WRITE_THROTTLE": "off",
        "REDIS_URL": "",
    }
    env.pop("DATABASE_URL", None)
    return env


@pytest.fixture(scope="module")
def seeded_sqlite() -> Path:
    """The demo data, seeded once for the module (seeding takes a while)."""
    path = Path(tempfile.mkdtemp(prefix="cache-live-seed-")) / "db.sqlite3"
    env = _env(path)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return path


@pytest.fixture(params=["embedded", "redis"])
def served(request, seeded_sqlite) -> Iterator[str]:
    """Serve the dashboard (and, with Redis, a metrics_pump); yield its base URL."""
    tmp = Path(tempfile.mkdtemp(prefix="cache-live-"))
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{seeded_sqlite}{suffix}")
        if source.exists():
            shutil.copy(source, tmp / f"db.sqlite3{suffix}")
    env = _env(tmp / "db.sqlite3")
    if request.param == "redis":
        # A Redis of this test alone: its counters and samples start from zero.
        env["REDIS_URL"] = request.getfixturevalue("private_redis_url")
    python = sys.executable
    port = free_port()
    procs = []
    log = (tmp / "server.log").open("w")
    procs.append(
        subprocess.Popen(
            uvicorn_command(port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    if request.param == "redis":
        procs.append(
            subprocess.Popen(
                [python, "manage.py", "metrics_pump"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"127.0.0.1:{port}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def private_redis_url() -> Iterator[str]:

    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def _recv_type(ws, kind: str, timeout: float = 5) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] == kind:
            return frame


@pytest.mark.slow
def test_metrics_reach_a_subscriber_at_once_then_every_second_and_move_with_use(served):
    token = requests.post(
        f"http://{served}/api/auth/token/",
        json={"username": "mentor", "password": "mentor"},
        timeout=5,
    ).json()["access"]
    headers = {"Authorization": f"Bearer {token}"}
    cohort = requests.get(f"http://{served}/api/cohorts/", headers=headers, timeout=5).json()[0]

    with connect(f"ws://{served}/ws/live/", open_timeout=5) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        assert _recv_type(ws, "welcome")
        time.sleep(1.5)  # the sampler has published by now
        ws.send(json.dumps({"type": "subscribe", "topic": "metrics:cache"}))
        assert _recv_type(ws, "subscribed")["topic"] == "metrics:cache"
        started = time.monotonic()
        first = _recv_type(ws, "metrics", timeout=1)["sample"]  # the latest, at once
        assert time.monotonic() - started < 0.5
        assert first["window"]["seconds"] == 60

        for _ in range(5):
            response = requests.get(
                f"http://{served}/api/cohorts/{cohort['id']}/snapshot/", headers=headers, timeout=5
            )
            assert response.status_code == 200

        samples = []
        started = time.monotonic()
        while time.monotonic() - started < 4:
            samples.append(_recv_type(ws, "metrics", timeout=3)["sample"])
        # One a second: consecutive samples are about a second apart, none doubled.
        stamps = [datetime.fromisoformat(s["at"].replace("Z", "+00:00")) for s in samples]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
        assert len(samples) >= 3
        assert all(0.5 <= gap <= 2.0 for gap in gaps), gaps
        last = samples[-1]
        snapshot = last["families"]["snapshot"]
        before = first["families"].get("snapshot", {"hits": 0})
        assert snapshot["hits"] - before["hits"] >= 4
        assert snapshot["misses"] >= 1 and snapshot["saved_ms"] > 0

    rest = requests.get(f"http://{served}/api/metrics/cache/", headers=headers, timeout=5).json()
    assert rest["current"]["families"]["snapshot"]["hits"] >= snapshot["hits"]
    assert len(rest["history"]) >= 5
    if rest["current"]["backend"] == "redis":
        assert rest["current"]["redis"]["connected_clients"] >= 2
    else:
        assert rest["current"]["redis"] is None
