"""A served process reaches Redis over connections it keeps (dashboard/redis_clients.py).

Django builds a cache backend per request context; each used to bring its own pool, so
every HTTP request opened a TCP connection to Redis (100 PATCHes: 103 connections).
Counted with Redis's own ``total_connections_received``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from tests.support import WORLD_SCRIPT, free_port, private_redis, uvicorn_command

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def served_on_redis() -> Iterator[tuple[str, str, int]]:
    """Serve the production settings (Redis cache, layer and presence) on SQLite; yield
    the base URL, the private Redis's URL and the cohort's id."""
    with private_redis() as redis_server:
        tmp = tempfile.mkdtemp(prefix="redis-conns-")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
            "SQLITE_PATH": str(Path(tmp) / "db.sqlite3"),
            "REDIS_URL": redis_server.url,
            "SIMULATE": "0",
            "WRITE_THROTTLE": "off",
            "PERIODIC_JOBS": "off",
            "METRICS_SAMPLER_IN_PROCESS": "0",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("DATABASE_URL", None)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
        seeded = subprocess.run(
            [*manage, "shell", "-c", WORLD_SCRIPT],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        cohort = int(seeded.stdout.decode().strip().splitlines()[-1])
        port = free_port()
        proc = subprocess.Popen(
            uvicorn_command(port),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
            yield base, redis_server.url, cohort
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_a_burst_of_requests_opens_no_new_redis_connection(served_on_redis):
    base, redis_url, cohort = served_on_redis
    http = requests.Session()
    token = http.post(
        f"{base}/api/auth/token/", json={"username": "mentor", "password": "mentor"}, timeout=5
    ).json()["access"]
    http.headers["Authorization"] = f"Bearer {token}"
    snapshot = http.get(f"{base}/api/cohorts/{cohort}/snapshot/", timeout=5).json()
    learner = snapshot["learners"][0]
    cell = f"{base}/api/cohorts/{cohort}/progress/{learner['id']}/python/"
    version = learner["progress"].get("python", {}).get("version", 0)

    def patch(score: int) -> None:
        nonlocal version
        body = {"status": "completed", "score": score, "version": version}
        answer = http.patch(cell, json=body, timeout=5)
        assert answer.status_code == 200, answer.text
        version = answer.json()["version"]

    # Warm-up: every pool the request path uses has its connections (the server's
    # threads may run requests at once, so a few each).
    for i in range(20):
        patch(i)
        assert http.get(f"{base}/api/cohorts/{cohort}/snapshot/", timeout=5).ok
        assert http.get(f"{base}/readyz", timeout=5).ok

    counter = redis.Redis.from_url(redis_url)  # one connection, counted once, before
    before = counter.info("stats")["total_connections_received"]
    for i in range(50):
        patch(i + 20)
        assert http.get(f"{base}/api/cohorts/{cohort}/snapshot/", timeout=5).ok
    assert http.get(f"{base}/readyz", timeout=5).ok
    after = counter.info("stats")["total_connections_received"]
    counter.close()
    assert after - before == 0


def test_cache_backends_of_different_threads_share_one_pool(settings):
    # Django makes a cache backend per thread (and per request context under ASGI).
    import threading

    from django.core.cache import caches

    from dashboard import redis_clients
    from tests.dashboard.cache_helpers import cache_config

    settings.CACHES = cache_config("redis", location="redis://127.0.0.1:1/0")
    pools = []

    def pool_of_this_thread() -> None:
        inner = caches["default"].inner  # type: ignore[attr-defined]
        pools.append(inner._cache._get_connection_pool(write=True))

    threads = [threading.Thread(target=pool_of_this_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(pool) for pool in pools}) == 1
    assert pools[0] is redis_clients.pool("redis://127.0.0.1:1/0", redis_clients.REQUEST)


def test_every_client_names_its_driver_without_a_lookup_per_connection():
    from dashboard import redis_clients

    pool = redis_clients.pool("redis://127.0.0.1:1/0")
    assert pool.connection_kwargs["driver_info"] is redis_clients.DRIVER_INFO
    assert redis_clients.client("redis://127.0.0.1:1/0").connection_pool is pool
