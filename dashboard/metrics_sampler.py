"""The cache metrics sampler: one sample a second, published by exactly one sampler.

Every sampler (``manage.py metrics_pump``, or the thread inside the server process in the
embedded default) ticks once a second. A tick first takes or renews the leader lock; only
the leader builds a sample, stores it (latest + history) and publishes it to
``metrics:cache``. The lock expires when its holder stops renewing it (killed, frozen,
cut off from Redis), so another sampler takes over within ``lock_ttl`` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import redis
from django.conf import settings
from django.core.cache import BaseCache, caches

from dashboard import redis_clients
from dashboard.cache_metrics import (
    CACHE_ERRORS,
    NAMESPACE,
    Clock,
    RateLimitedLog,
    Recorder,
    SampleStore,
    build_sample,
    default_recorder,
    default_sample_store,
)

logger = logging.getLogger(__name__)

LOCK_TTL = 5.0


# ======================================================================================
# The leader lock
# ======================================================================================


class LeaderLock(Protocol):
    def acquire(self, token: str) -> bool:
        """Take the lock for ``token``, or renew it when ``token`` holds it already."""

    def release(self, token: str) -> None:
        """Give the lock up, only when ``token`` holds it."""


# Take-or-renew in one step: a holder extends its lease, anyone else gets it only when free.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLeaderLock:
    """A lease in Redis (``SET`` with an expiry), renewed by its holder at every tick."""

    def __init__(
        self,
        url: str = "",
        *,
        key: str = f"{NAMESPACE}:sampler",
        ttl: float = LOCK_TTL,
        client: redis.Redis | None = None,
    ) -> None:
        self.client = client or redis_clients.client(url)
        self.key = key
        self.ttl_ms = int(ttl * 1000)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._release = self.client.register_script(_RELEASE)

    def acquire(self, token: str) -> bool:
        return bool(self._acquire(keys=[self.key], args=[token, self.ttl_ms]))

    def release(self, token: str) -> None:
        self._release(keys=[self.key], args=[token])


class MemoryLeaderLock:
    """The same lease within one process (the embedded default), on an injectable clock."""

    def __init__(self, *, ttl: float = LOCK_TTL, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._holder: str | None = None
        self._until = 0.0
        self._lock = threading.Lock()

    def acquire(self, token: str) -> bool:
        with self._lock:
            now = self.clock()
            if self._holder in (None, token) or now >= self._until:
                self._holder, self._until = token, now + self.ttl
                return True
            return False

    def release(self, token: str) -> None:
        with self._lock:
            if self._holder == token:
                self._holder = None


# ======================================================================================
# The sampler
# ======================================================================================


def _publish_metrics(sample: dict[str, Any]) -> None:
    from realtime.broadcasting import publish_metrics

    publish_metrics(sample)


class Sampler:
    """Build, keep and publish one sample per tick while holding the leader lock."""

    def __init__(
        self,
        *,
        cache: BaseCache,
        recorder: Recorder,
        samples: SampleStore,
        lock: LeaderLock,
        publish: Callable[[dict[str, Any]], None] = _publish_metrics,
        clock: Clock = time.time,
        interval: float = 1.0,
        name: str = "",
    ) -> None:
        self.cache = cache
        self.recorder = recorder
        self.samples = samples
        self.lock = lock
        self.publish = publish
        self.clock = clock
        self.interval = interval
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.token = f"{self.name}:{uuid.uuid4().hex}"
        self.leader = False
        self._log = RateLimitedLog()

    def tick(self) -> dict[str, Any] | None:
        """Take or renew the lock; when leading, sample, keep and publish. Never raise."""
        try:
            self.leader = self.lock.acquire(self.token)
        except CACHE_ERRORS as exc:
            self.leader = False
            self._log.warning("metrics sampler: lock unavailable: %s", exc)
        if not self.leader:
            return None
        try:
            sample = build_sample(cache=self.cache, recorder=self.recorder, clock=self.clock)
            sample["sampler"] = self.name
            self.samples.push(sample)
        except CACHE_ERRORS as exc:
            self._log.warning("metrics sampler: sample not stored: %s", exc)
            return None
        try:
            self.publish(sample)
        except Exception:  # a failed fan-out must not stop the sampling
            logger.exception("metrics sampler: publish failed")
        return sample

    def run(self, stop: threading.Event) -> None:
        """Tick on every whole ``interval`` of the clock until ``stop`` is set."""
        logger.info("metrics sampler %s started", self.name)
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # a bug in one tick must not end the sampling
                    logger.exception("metrics sampler: tick failed")
                stop.wait(self.interval - (self.clock() % self.interval))
        finally:
            with contextlib.suppress(*CACHE_ERRORS):  # else the lease expires by itself
                self.lock.release(self.token)
            logger.info("metrics sampler %s stopped", self.name)


_memory_lock = MemoryLeaderLock()


def default_sampler(*, interval: float = 1.0, lock_ttl: float = LOCK_TTL) -> Sampler:
    """Return a sampler on the default cache, recorder, sample store and lock."""
    lock: LeaderLock = (
        RedisLeaderLock(settings.REDIS_URL, ttl=lock_ttl) if settings.REDIS_URL else _memory_lock
    )
    return Sampler(
        cache=caches["default"],
        recorder=default_recorder(),
        samples=default_sample_store(),
        lock=lock,
        interval=interval,
    )


def start_sampler_thread(sampler: Sampler) -> tuple[threading.Thread, threading.Event]:
    """Run ``sampler`` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=sampler.run, args=(stop,), name="metrics-sampler", daemon=True)
    thread.start()
    return thread, stop
