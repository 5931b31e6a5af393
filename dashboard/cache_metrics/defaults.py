"""The process's recorder and sample store, chosen from the settings, and the reads
the API and the WebSocket make of the samples."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from dashboard.cache_metrics.common import CACHE_ERRORS, HISTORY_SECONDS, RateLimitedLog
from dashboard.cache_metrics.counters import CounterStore, MemoryCounterStore, RedisCounterStore
from dashboard.cache_metrics.recorder import Recorder
from dashboard.cache_metrics.stores import MemorySampleStore, RedisSampleStore, SampleStore

_defaults_lock = threading.Lock()
_recorder: Recorder | None = None
_samples: SampleStore | None = None


def default_recorder() -> Recorder:
    """Return this process's recorder: Redis-backed with ``REDIS_URL``, else in memory."""
    global _recorder
    if _recorder is None:
        with _defaults_lock:
            if _recorder is None:
                store: CounterStore = (
                    RedisCounterStore(settings.REDIS_URL)
                    if settings.REDIS_URL
                    else MemoryCounterStore()
                )
                _recorder = Recorder(store)
    return _recorder


def default_sample_store() -> SampleStore:
    """Return where this deployment keeps samples: Redis with ``REDIS_URL``, else memory."""
    global _samples
    if _samples is None:
        with _defaults_lock:
            if _samples is None:
                _samples = (
                    RedisSampleStore(settings.REDIS_URL)
                    if settings.REDIS_URL
                    else MemorySampleStore()
                )
    return _samples


_read_log = RateLimitedLog()


def latest_sample() -> dict[str, Any] | None:
    """Return the newest cache metrics sample (api.md's shape), or None before the first.

    Blocking (a Redis GET with ``REDIS_URL``): call it from async code through
    ``sync_to_async``. Never raises: with Redis down it answers None.
    """
    try:
        return default_sample_store().latest()
    except CACHE_ERRORS as exc:
        _read_log.warning("cache metrics: latest sample unavailable: %s", exc)
        return None


def sample_history(limit: int = HISTORY_SECONDS) -> list[dict[str, Any]]:
    """Return the kept samples, oldest first (empty when unavailable)."""
    try:
        return default_sample_store().history(limit)
    except CACHE_ERRORS as exc:
        _read_log.warning("cache metrics: history unavailable: %s", exc)
        return []
