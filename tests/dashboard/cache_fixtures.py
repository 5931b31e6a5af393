"""Fixtures of the cache tests: a private Redis, a namespace, both cache backends.

Loaded with ``pytest_plugins = ["tests.dashboard.cache_fixtures"]``; never flushes a Redis.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.dashboard.cache_helpers import cache_config
from tests.support import REDIS_SERVER, free_port


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis to test against: ``REDIS_URL`` when set, else a private redis-server."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="cache-tests-redis-")
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the private redis-server did not start") from None
            time.sleep(0.05)
    client.close()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def namespace() -> str:
    """A key namespace of this test alone."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["locmem", "redis"])
def cache_kind(request, settings) -> str:
    """Run the test on the instrumented cache over locmem, then over a real Redis."""
    location = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    settings.CACHES = cache_config(request.param, location=location)
    return request.param
