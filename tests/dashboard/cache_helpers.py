"""Helpers of the cache tests: free ports, a fake clock, cache configs.

The fixtures are in ``cache_fixtures`` (a pytest plugin).
Keys are namespaced per test, so nothing here ever flushes a Redis.
"""

from __future__ import annotations

import uuid
from typing import Any

from dashboard import redis_clients
from tests.support import free_port


def closed_port_url() -> str:
    """Return a Redis URL on which nothing listens (connections are refused at once)."""
    return f"redis://127.0.0.1:{free_port()}/0"


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def cache_config(kind: str, *, location: str = "", prefix: str = "") -> dict[str, Any]:
    """Return a CACHES setting: the instrumented cache over locmem or Redis."""
    if kind == "redis":
        return {
            "default": {
                "BACKEND": "dashboard.cache_metrics.InstrumentedCache",
                "LOCATION": location,
                "KEY_PREFIX": prefix or f"test-{uuid.uuid4().hex[:12]}",
                "TIMEOUT": 300,
                "OPTIONS": {
                    "INNER_BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "INNER_OPTIONS": redis_clients.cache_options(),
                },
            }
        }
    return {
        "default": {
            "BACKEND": "dashboard.cache_metrics.InstrumentedCache",
            "LOCATION": f"test-{uuid.uuid4().hex[:12]}",
            "TIMEOUT": 300,
            "OPTIONS": {
                "INNER_BACKEND": "dashboard.cache_metrics.CountingLocMemCache",
                "INNER_OPTIONS": {"MAX_ENTRIES": 5000},
            },
        }
    }


# The fields api.md gives a cache metrics sample (the implementation may add more).
API_SAMPLE_FIELDS = {
    "at",
    "backend",
    "hits",
    "misses",
    "hit_ratio",
    "window",
    "ops_per_sec",
    "latency_ms",
    "keys",
    "memory_bytes",
    "evictions",
    "redis",
}
