"""Counter stores: where the per-process counts meet (process memory, or Redis hashes
shared by every process)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Protocol

import redis

from dashboard import redis_clients
from dashboard.cache_metrics.common import BUCKET_RETENTION, NAMESPACE

# Field names inside a bucket: "<kind>:<family>" with kind h (hit), m (miss), s (set),
# d (delete), e (error), c (miss-path computations), cus (their cost in microseconds),
# and "l:<family>:<bucket>" for the latency histogram.


class CounterStore(Protocol):
    def add(self, per_second: Mapping[int, Mapping[str, int]]) -> None:
        """Add per-second field deltas to the buckets and to the lifetime totals."""

    def read(self, seconds: Iterable[int]) -> tuple[dict[str, int], list[dict[str, int]]]:
        """Return the lifetime totals and the buckets of ``seconds`` (empty when absent)."""


class MemoryCounterStore:
    """Counters of this process only: the embedded default's store."""

    def __init__(self, retention: int = BUCKET_RETENTION) -> None:
        self._lock = threading.Lock()
        self._totals: Counter[str] = Counter()
        self._buckets: dict[int, Counter[str]] = {}
        self._retention = retention

    def add(self, per_second: Mapping[int, Mapping[str, int]]) -> None:
        with self._lock:
            for second, fields in per_second.items():
                self._buckets.setdefault(second, Counter()).update(fields)
                self._totals.update(fields)
            if self._buckets:
                oldest = max(self._buckets) - self._retention
                for second in [s for s in self._buckets if s < oldest]:
                    del self._buckets[second]

    def read(self, seconds: Iterable[int]) -> tuple[dict[str, int], list[dict[str, int]]]:
        with self._lock:
            return dict(self._totals), [dict(self._buckets.get(s, {})) for s in seconds]


class RedisCounterStore:
    """Counters shared by every process through Redis hashes.

    ``{ns}:total`` holds the lifetime totals, ``{ns}:s:{epoch second}`` one second's
    counts (expiring after ``retention`` seconds).
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str = NAMESPACE,
        retention: int = BUCKET_RETENTION,
        client: redis.Redis | None = None,
    ) -> None:
        self.client = client or redis_clients.client(url)
        self.namespace = namespace
        self._retention = retention

    def add(self, per_second: Mapping[int, Mapping[str, int]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        totals: Counter[str] = Counter()
        for second, fields in per_second.items():
            key = f"{self.namespace}:s:{second}"
            for field, delta in fields.items():
                pipe.hincrby(key, field, delta)
            pipe.expire(key, self._retention)
            totals.update(fields)
        for field, delta in totals.items():
            pipe.hincrby(f"{self.namespace}:total", field, delta)
        pipe.execute()

    def read(self, seconds: Iterable[int]) -> tuple[dict[str, int], list[dict[str, int]]]:
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(f"{self.namespace}:total")
        seconds = list(seconds)
        for second in seconds:
            pipe.hgetall(f"{self.namespace}:s:{second}")
        raw = pipe.execute()
        decoded = [{k.decode(): int(v) for k, v in row.items()} for row in raw]
        return decoded[0], decoded[1:]
