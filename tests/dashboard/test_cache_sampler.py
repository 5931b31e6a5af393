"""The sampler: one sample a tick, kept and published by exactly one of several samplers;
a dead one is replaced within its lease."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from dashboard.cache_metrics import (
    HISTORY_SECONDS,
    NAMESPACE,
    InstrumentedCache,
    MemoryCounterStore,
    MemorySampleStore,
    Recorder,
    RedisSampleStore,
)
from dashboard.metrics_sampler import MemoryLeaderLock, RedisLeaderLock, Sampler
from tests.dashboard.cache_helpers import FakeClock, cache_config

pytest_plugins = ["tests.dashboard.cache_fixtures"]

ROOT = Path(__file__).resolve().parents[2]


def make_sampler(lock, samples, published: list, clock=None, name: str = "s") -> Sampler:
    clock = clock or FakeClock()
    recorder = Recorder(MemoryCounterStore(), clock=clock, autoflush=False)
    cache = InstrumentedCache("", cache_config("locmem")["default"], recorder=recorder)
    return Sampler(
        cache=cache,
        recorder=recorder,
        samples=samples,
        lock=lock,
        publish=published.append,
        clock=clock,
        name=name,
    )


@pytest.fixture(params=["memory", "redis"])
def samples(request, namespace):
    if request.param == "memory":
        return MemorySampleStore(size=5)
    return RedisSampleStore(request.getfixturevalue("redis_url"), namespace=namespace, size=5)


def test_the_leader_keeps_and_publishes_each_sample(samples):
    published: list = []
    clock = FakeClock()
    sampler = make_sampler(MemoryLeaderLock(clock=clock), samples, published, clock)
    for _ in range(7):
        sample = sampler.tick()
        assert sample is not None
        clock.advance(1)
    assert len(published) == 7
    assert samples.latest() == published[-1]
    history = samples.history()
    assert len(history) == 5  # capped
    assert history == published[-5:]  # oldest first
    assert samples.history(2) == published[-2:]
    assert published[-1]["sampler"] == "s"


def test_history_keeps_ten_minutes_by_default():
    assert HISTORY_SECONDS >= 600
    store = MemorySampleStore()
    for i in range(700):
        store.push({"n": i})
    assert len(store.history()) == 600 and store.history()[0] == {"n": 100}


def test_two_samplers_one_publisher_and_a_dead_one_is_replaced(redis_url, namespace):
    def lock() -> RedisLeaderLock:
        return RedisLeaderLock(redis_url, key=f"{namespace}:lock", ttl=0.6)

    published_a: list = []
    published_b: list = []
    store = RedisSampleStore(redis_url, namespace=namespace)
    a = make_sampler(lock(), store, published_a, name="a")
    b = make_sampler(lock(), store, published_b, name="b")
    for _ in range(5):
        a.tick()
        b.tick()
        time.sleep(0.05)
    assert (len(published_a), len(published_b)) == (5, 0)
    assert a.leader and not b.leader

    # a is killed: it stops ticking without releasing the lease.
    started = time.monotonic()
    while b.tick() is None:
        assert time.monotonic() - started < 3, "the lease was not taken over"
        time.sleep(0.05)
    assert 0.4 < time.monotonic() - started < 1.5
    assert b.leader and len(published_b) == 1
    assert a.tick() is None  # a back from the dead does not publish twice
    assert store.latest()["sampler"] == "b"


def test_a_stopped_sampler_hands_over_at_once(redis_url, namespace):
    import threading

    lock_a = RedisLeaderLock(redis_url, key=f"{namespace}:lock", ttl=30)
    lock_b = RedisLeaderLock(redis_url, key=f"{namespace}:lock", ttl=30)
    published: list = []
    store = MemorySampleStore()
    a = make_sampler(lock_a, store, published, name="a")
    a.interval = 0.05
    stop = threading.Event()
    thread = threading.Thread(target=a.run, args=(stop,))
    thread.start()
    time.sleep(0.2)
    stop.set()
    thread.join(2)
    assert len(published) >= 2
    assert make_sampler(lock_b, store, published, name="b").tick() is not None


def test_memory_lease_expires_on_the_fake_clock():
    clock = FakeClock()
    lock = MemoryLeaderLock(ttl=5, clock=clock)
    assert lock.acquire("a") and not lock.acquire("b")
    clock.advance(4)
    assert lock.acquire("a")  # renewed
    clock.advance(4)
    assert not lock.acquire("b")
    clock.advance(1.01)
    assert lock.acquire("b") and not lock.acquire("a")
    lock.release("a")  # not the holder: nothing happens
    assert not lock.acquire("a")
    lock.release("b")
    assert lock.acquire("a")


def test_a_failing_publish_does_not_stop_the_sampling():
    def boom(sample):
        raise RuntimeError("fan-out down")

    store = MemorySampleStore()
    sampler = make_sampler(MemoryLeaderLock(), store, [])
    sampler.publish = boom
    assert sampler.tick() is not None
    assert store.latest() is not None


def test_a_tick_that_crashes_does_not_end_the_loop(monkeypatch):
    import threading

    from dashboard import metrics_sampler

    published: list = []
    sampler = make_sampler(MemoryLeaderLock(), MemorySampleStore(), published)
    sampler.clock = time.time
    sampler.interval = 0.02
    real = metrics_sampler.build_sample
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return real(**kwargs)

    monkeypatch.setattr(metrics_sampler, "build_sample", flaky)
    stop = threading.Event()
    thread = threading.Thread(target=sampler.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 3
    while len(published) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(2)
    assert len(published) >= 2


def test_a_lock_on_a_dead_redis_means_no_leader_not_a_crash():
    from tests.dashboard.cache_helpers import closed_port_url

    sampler = make_sampler(RedisLeaderLock(closed_port_url()), MemorySampleStore(), [])
    assert sampler.tick() is None and not sampler.leader


def test_metrics_pump_refuses_to_run_without_redis(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("metrics_pump")


def test_in_process_sampler_is_registered_and_stops(settings):
    """The embedded default: the server's lifespan starts and stops the sampler thread."""
    import asyncio

    from dashboard import background
    from dashboard.cache_metrics import latest_sample

    settings.METRICS_SAMPLER_IN_PROCESS = True
    (helper,) = [h for h in background.in_process_helpers() if h.name == "metrics-sampler"]
    start, stop = helper.start, helper.stop
    asyncio.run(start())
    try:
        deadline = time.monotonic() + 5
        while (latest_sample() or {}).get("sampler") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert latest_sample()["window"]["seconds"] == 60
    finally:
        asyncio.run(stop())


# --------------------------------------------------------------------------------------
# Real processes: two metrics_pump commands, one killed with SIGKILL
# --------------------------------------------------------------------------------------


def _pump(redis_url: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
        "SQLITE_PATH": str(log.with_suffix(".sqlite3")),
        "SECRET_KEY": "test",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "metrics_pump", "--lock-ttl", "2"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_two_metrics_pumps_publish_once_a_second_and_survive_a_kill(redis_url):
    client = redis.Redis.from_url(redis_url)
    keys = [f"{NAMESPACE}:{k}" for k in ("latest", "history", "sampler")]
    client.delete(*keys)  # samples of earlier tests in this Redis
    tmp = Path(tempfile.mkdtemp(prefix="pump-"))
    pumps = [_pump(redis_url, tmp / f"pump{i}.log") for i in range(2)]
    try:

        def latest() -> dict | None:
            raw = client.get(f"{NAMESPACE}:latest")
            return json.loads(raw) if raw else None

        def wait_for(predicate, timeout: float) -> dict:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                sample = latest()
                if sample and predicate(sample):
                    return sample
                time.sleep(0.1)
            logs = "\n".join(p.read_text() for p in tmp.glob("*.log"))
            raise AssertionError(f"timed out; logs:\n{logs}")

        started = time.time()
        first = wait_for(lambda s: s["at"] >= _iso(started + 3), 20)
        leader_pid = int(first["sampler"].rsplit(":", 1)[1])
        assert leader_pid in {p.pid for p in pumps}

        # Exactly one publisher: one sample per second, never two for the same second.
        time.sleep(3)
        history = [json.loads(x) for x in client.lrange(f"{NAMESPACE}:history", 0, 5)]
        seconds = [s["at"][:19] for s in history]
        assert len(set(seconds)) == len(seconds)
        assert {s["sampler"] for s in history} == {first["sampler"]}

        killed_at = time.time()
        os.kill(leader_pid, signal.SIGKILL)
        survivor = wait_for(lambda s: s["sampler"] != first["sampler"], 10)
        assert int(survivor["sampler"].rsplit(":", 1)[1]) != leader_pid
        assert time.time() - killed_at < 5  # lease 2 s + a tick
    finally:
        for pump in pumps:
            if pump.poll() is None:
                pump.send_signal(signal.SIGTERM)
        for pump in pumps:
            try:
                pump.wait(10)
            except subprocess.TimeoutExpired:
                pump.kill()
        client.delete(*keys)


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")
