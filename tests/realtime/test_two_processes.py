"""Two real server processes (uvicorn) on one Redis and one database.

A write through one reaches a subscriber on the other; presence spans both; the viewers
of a process killed with SIGKILL vanish from the other's presence.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support import WORLD_SCRIPT, free_port, uvicorn_command

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

pytestmark = pytest.mark.slow


@pytest.fixture
def servers(redis_server):
    """Two uvicorn processes sharing a temp SQLite file and the private Redis."""
    tmp = tempfile.mkdtemp(prefix="rt-two-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
        "SQLITE_PATH": str(Path(tmp) / "db.sqlite3"),
        "REDIS_URL": redis_server.url,
        "SIMULATE": "0",
        "WRITE_THROTTLE": "off",
        "PERIODIC_JOBS": "off",
        "METRICS_SAMPLER_IN_PROCESS": "0",
        "PRESENCE_TTL": "2",
        "PRESENCE_HEARTBEAT": "0.5",
        "PRESENCE_SWEEP": "0.5",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    seeded = subprocess.run(
        [*manage, "shell", "-c", WORLD_SCRIPT], env=env, check=True, cwd=ROOT, capture_output=True
    )
    cohort_id = int(seeded.stdout.decode().strip().splitlines()[-1])
    procs = []
    ports = [free_port(), free_port()]
    for port in ports:
        procs.append(
            subprocess.Popen(
                uvicorn_command(port),
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        for port in ports:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield {"ports": ports, "procs": procs, "cohort": cohort_id}
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def token(port: int, username: str) -> str:
    response = requests.post(
        f"http://127.0.0.1:{port}/api/auth/token/",
        json={"username": username, "password": username},
        timeout=5,
    )
    response.raise_for_status()
    return response.json()["access"]


async def frames_until(ws, predicate, timeout: float = 10):
    """Return the first frame matching ``predicate``, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "no matching frame in time"
        frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        if predicate(frame):
            return frame


async def test_write_on_one_process_reaches_a_subscriber_on_the_other(servers):
    port_a, port_b = servers["ports"]
    cohort = servers["cohort"]
    topic = f"cohort:{cohort}"
    mentor_token = token(port_a, "mentor")
    learner_token = token(port_a, "learner")

    async with (
        connect(f"ws://127.0.0.1:{port_b}/ws/live/") as on_b,
        connect(f"ws://127.0.0.1:{port_a}/ws/live/") as on_a,
    ):
        await on_b.send(json.dumps({"type": "auth", "token": mentor_token}))
        await frames_until(on_b, lambda f: f["type"] == "welcome")
        await on_b.send(json.dumps({"type": "subscribe", "topic": topic, "since": 0}))
        subscribed = await frames_until(on_b, lambda f: f["type"] == "subscribed")
        assert subscribed["recovered"] is True

        # Presence spans both processes: the learner joins on A, the mentor on B sees it.
        await on_a.send(json.dumps({"type": "auth", "token": learner_token}))
        await frames_until(on_a, lambda f: f["type"] == "welcome")
        await on_a.send(json.dumps({"type": "subscribe", "topic": topic}))
        on_a_subscribed = await frames_until(on_a, lambda f: f["type"] == "subscribed")
        assert {e["role"] for e in on_a_subscribed["presence"]} == {"mentor", "learner"}
        joined = await frames_until(on_b, lambda f: f["type"] == "presence" and f["joins"])
        assert joined["joins"][0]["role"] == "learner"

        # A write through A's REST API reaches the subscriber on B.
        response = await asyncio.to_thread(
            requests.post,
            f"http://127.0.0.1:{port_a}/api/cohorts/{cohort}/events/1/comments/",
            json={"text": "across processes"},
            headers={"Authorization": f"Bearer {mentor_token}"},
            timeout=5,
        )
        assert response.status_code == 201
        event = await frames_until(on_b, lambda f: f["type"] == "event")
        assert event["event"]["data"]["text"] == "across processes"
        assert event["event"]["seq"] == subscribed["seq"] + 1

        # The server's frame limit agrees with the consumer's: over 64 KiB closes 1009.
        async with connect(f"ws://127.0.0.1:{port_b}/ws/live/", max_size=None) as big:
            await big.send(json.dumps({"type": "auth", "token": mentor_token}))
            await frames_until(big, lambda f: f["type"] == "welcome")
            await big.send(json.dumps({"type": "ping", "pad": "x" * 65536}))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(big.recv(), 5)
            assert big.close_code == 1009

        # SIGKILL A: its viewer (the learner) leaves B's presence within the TTL.
        servers["procs"][0].send_signal(signal.SIGKILL)
        left = await frames_until(on_b, lambda f: f["type"] == "presence" and f["leaves"], 10)
        assert left["leaves"][0]["role"] == "learner"
