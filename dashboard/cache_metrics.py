"""The instrumented cache and its counters.

``InstrumentedCache`` is the ``default`` cache backend: it wraps the real one (local
memory, or Django's ``RedisCache``) and records, per key family (the key's leading
letters: ``snapshot``, ``stats``, ``throttle``...), hits, misses, sets, deletes, errors
and each operation's latency. It also degrades: when the inner backend fails (Redis down),
reads become misses and writes no-ops, logged at most every few seconds, never raised.

The hot path only touches a per-process dict under a lock. A flusher thread moves those
counts, once a second, to a ``CounterStore``: process memory in the embedded default, or
Redis (one pipeline of ``HINCRBY``) so that every process of a deployment adds up. Counts
are kept per second, which makes the 60 s window a real sliding window, and latencies as
a log-scale histogram, which makes p50/p99 mergeable across processes.

``build_sample`` turns the store into api.md's sample; ``SampleStore`` keeps the latest
sample and the history where ``latest_sample()`` and the REST view read them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import redis
from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils.module_loading import import_string

from dashboard import redis_clients
from realtime.protocol import iso_ms

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

# Every Redis key of the metrics (counters, samples, the sampler's lease) starts with this.
NAMESPACE = "dash:metrics:cache"
WINDOW_SECONDS = 60
RATE_SECONDS = 10  # ops_per_sec is the mean over this many complete seconds
HISTORY_SECONDS = 600
BUCKET_RETENTION = 180  # per-second counter buckets outlive the window comfortably
MAX_FAMILIES = 32

# Errors that mean "the cache server is not answering"; anything else is a bug and raises.
CACHE_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


# ======================================================================================
# Key families and the latency histogram
# ======================================================================================

_FAMILY = re.compile(r"[A-Za-z]+")


def key_family(key: Any) -> str:
    """Return the key's family: its leading letters, lower-cased (``throttle_write_3``
    and ``snapshot:1:v`` give ``throttle`` and ``snapshot``)."""
    match = _FAMILY.match(str(key))
    return match.group(0).lower()[:24] if match else "other"


# Log-scale buckets: bucket i holds latencies in [BASE * R**i, BASE * R**(i+1)) ms, so a
# percentile read back from the histogram is within R (19%) of the true value.
_LAT_BASE_MS = 0.001
_LAT_RATIO = 2**0.25
_LAT_LOG = math.log(_LAT_RATIO)


def latency_bucket(ms: float) -> int:
    """Return the histogram bucket of a latency in milliseconds."""
    if ms <= _LAT_BASE_MS:
        return 0
    return int(math.log(ms / _LAT_BASE_MS) / _LAT_LOG)


def bucket_ms(index: int) -> float:
    """Return the representative latency of a bucket (its geometric middle)."""
    return _LAT_BASE_MS * _LAT_RATIO ** (index + 0.5)


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """Return the ``q`` quantile (0-1) of a latency histogram, or None when it is empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return round(bucket_ms(index), 4)
    return round(bucket_ms(max(histogram)), 4)  # pragma: no cover - rank <= total


def ratio(hits: int, misses: int) -> float | None:
    """Return hits / (hits + misses), or None when there were no lookups."""
    looked = hits + misses
    return round(hits / looked, 4) if looked else None


# ======================================================================================
# Counter stores: where the per-process counts meet
# ======================================================================================
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


# ======================================================================================
# The recorder: the hot path's per-process counts and their flusher
# ======================================================================================


class RateLimitedLog:
    """Log a warning at most once per ``every`` seconds, counting what it swallowed."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._last = -math.inf
        self._suppressed = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: Any) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.every:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        extra = f" ({suppressed} similar suppressed)" if suppressed else ""
        logger.warning(message + extra, *args)
        return True


class Recorder:
    """Collect cache counts in this process and flush them to a ``CounterStore``.

    ``autoflush`` starts a daemon thread (once per process, fork-safe) that flushes every
    ``flush_interval`` seconds; tests turn it off and call ``flush()``.
    """

    def __init__(
        self,
        store: CounterStore,
        *,
        clock: Clock = time.time,
        flush_interval: float = 1.0,
        autoflush: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.flush_interval = flush_interval
        self.autoflush = autoflush
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: dict[int, Counter[str]] = {}
        self._families: set[str] = set()
        self._flusher_pid: int | None = None
        self._log = RateLimitedLog()

    # -- hot path ------------------------------------------------------------------

    def _family(self, family: str) -> str:
        if family in self._families:
            return family
        if len(self._families) >= MAX_FAMILIES:
            return "other"
        self._families.add(family)
        return family

    def record(
        self,
        family: str,
        *,
        hits: int = 0,
        misses: int = 0,
        sets: int = 0,
        deletes: int = 0,
        errors: int = 0,
        latency_ms: float | None = None,
        op: str = "",
    ) -> None:
        """Count one cache operation ``op`` (get, set...) on a key of ``family``."""
        second = int(self.clock())
        with self._lock:
            family = self._family(family)
            bucket = self._pending.get(second)
            if bucket is None:
                bucket = self._pending[second] = Counter()
            if hits:
                bucket[f"h:{family}"] += hits
            if misses:
                bucket[f"m:{family}"] += misses
            if sets:
                bucket[f"s:{family}"] += sets
            if deletes:
                bucket[f"d:{family}"] += deletes
            if errors:
                bucket[f"e:{family}"] += errors
            if latency_ms is not None:
                index = latency_bucket(latency_ms)
                bucket[f"l:{family}:{index}"] += 1
                if op:
                    bucket[f"o:{op}:{index}"] += 1
        if self.autoflush and self._flusher_pid != os.getpid():
            self._start_flusher()

    def record_compute(self, family: str, ms: float) -> None:
        """Count one run of ``family``'s miss path and what it cost (what a hit saves)."""
        second = int(self.clock())
        with self._lock:
            family = self._family(family)
            bucket = self._pending.setdefault(second, Counter())
            bucket[f"c:{family}"] += 1
            bucket[f"cus:{family}"] += max(0, round(ms * 1000))
        if self.autoflush and self._flusher_pid != os.getpid():
            self._start_flusher()

    # -- flushing ------------------------------------------------------------------

    def flush(self) -> None:
        """Move the pending counts to the store; on failure drop them and log (rarely)."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            if not pending:
                return
            try:
                self.store.add(pending)
            except CACHE_ERRORS as exc:
                self._log.warning("cache metrics: flush failed, counts dropped: %s", exc)

    def _start_flusher(self) -> None:
        with self._flush_lock:
            pid = os.getpid()
            if self._flusher_pid == pid:
                return
            self._flusher_pid = pid
            threading.Thread(target=self._flush_forever, name="cache-metrics", daemon=True).start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.flush_interval)
            try:
                self.flush()
            except Exception:  # the flusher must outlive any surprise
                logger.exception("cache metrics: flush crashed")


# ======================================================================================
# The instrumented cache backend
# ======================================================================================


class CountingLocMemCache(LocMemCache):
    """Django's local-memory cache, counting the entries its culling evicts."""

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(name, params)
        self.evictions = 0

    # LocMemCache's storage and lock are private (and missing from the stubs).
    def _cull(self) -> None:
        entries = cast(Any, self)._cache
        before = len(entries)
        super()._cull()  # type: ignore[misc]
        self.evictions += before - len(entries)

    def footprint(self) -> tuple[int, int]:
        """Return (keys, bytes of keys and pickled values) held now."""
        me = cast(Any, self)
        with me._lock:
            return len(me._cache), sum(len(k) + len(v) for k, v in me._cache.items())


_MISSING = object()


class InstrumentedCache(BaseCache):
    """A cache backend that measures and shields the backend it wraps.

    ``OPTIONS``: ``INNER_BACKEND`` (dotted path, default ``CountingLocMemCache``) and
    ``INNER_OPTIONS`` (that backend's ``OPTIONS``). ``LOCATION``, ``TIMEOUT`` and
    ``KEY_PREFIX`` go to the inner backend, which does all key handling.
    """

    # After a failure, go straight to the degraded answer for this long instead of
    # paying a connect timeout on every request.
    RETRY_AFTER = 1.0

    def __init__(
        self, location: str, params: dict[str, Any], *, recorder: Recorder | None = None
    ) -> None:
        options = dict(params.get("OPTIONS") or {})
        inner_path = options.pop("INNER_BACKEND", "dashboard.cache_metrics.CountingLocMemCache")
        inner_options = options.pop("INNER_OPTIONS", {})
        super().__init__({**params, "OPTIONS": options})
        self.inner: BaseCache = import_string(inner_path)(
            location, {**params, "OPTIONS": inner_options}
        )
        self.location = location
        self._recorder = recorder
        self._down_until = 0.0
        self._log = RateLimitedLog()

    @property
    def recorder(self) -> Recorder:
        return self._recorder or default_recorder()

    @property
    def backend_name(self) -> str:
        if isinstance(self.inner, RedisCache):
            return "redis"
        if isinstance(self.inner, LocMemCache):
            return "locmem"
        return type(self.inner).__name__.lower()

    @property
    def degraded(self) -> bool:
        """True while the inner backend is considered down (its last call failed)."""
        return time.monotonic() < self._down_until

    # -- the guard every operation goes through ----------------------------------------

    def _run(self, family: str, call: Callable[[], Any]) -> tuple[bool, Any, float]:
        """Run ``call``; return (ok, result, ms). Failures trip the breaker, never raise."""
        if self.degraded:
            self.recorder.record(family, errors=1)
            return False, None, 0.0
        started = time.perf_counter()
        try:
            result = call()
        except CACHE_ERRORS as exc:
            self._down_until = time.monotonic() + self.RETRY_AFTER
            self.recorder.record(family, errors=1)
            self._log.warning("cache %s unavailable, degrading to misses: %s", self.location, exc)
            return False, None, 0.0
        return True, result, (time.perf_counter() - started) * 1000

    # -- reads ------------------------------------------------------------------------

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        family = key_family(key)
        ok, value, ms = self._run(family, lambda: self.inner.get(key, _MISSING, version))
        if not ok:
            self.recorder.record(family, misses=1)
            return default
        hit = value is not _MISSING
        self.recorder.record(family, hits=int(hit), misses=int(not hit), latency_ms=ms, op="get")
        return value if hit else default

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        keys = list(keys)
        if not keys:
            return {}
        ok, found, ms = self._run(key_family(keys[0]), lambda: self.inner.get_many(keys, version))
        found = found if ok else {}
        per_family: dict[str, list[int]] = {}
        for key in keys:
            counts = per_family.setdefault(key_family(key), [0, 0])
            counts[0 if key in found else 1] += 1
        for i, (family, (hits, misses)) in enumerate(per_family.items()):
            latency = ms if ok and i == 0 else None
            self.recorder.record(
                family, hits=hits, misses=misses, latency_ms=latency, op="get_many"
            )
        return found

    def has_key(self, key: Any, version: int | None = None) -> bool:
        family = key_family(key)
        ok, result, ms = self._run(family, lambda: self.inner.has_key(key, version))
        if ok:
            self.recorder.record(family, latency_ms=ms, op="has_key")
        return bool(result) if ok else False

    # -- writes -----------------------------------------------------------------------

    def set(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,  # type: ignore[assignment]
        version: int | None = None,
    ) -> None:
        family = key_family(key)
        ok, _, ms = self._run(family, lambda: self.inner.set(key, value, timeout, version))
        if ok:
            self.recorder.record(family, sets=1, latency_ms=ms, op="set")

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,  # type: ignore[assignment]
        version: int | None = None,
    ) -> bool:
        family = key_family(key)
        ok, added, ms = self._run(family, lambda: self.inner.add(key, value, timeout, version))
        if ok:
            self.recorder.record(family, sets=int(bool(added)), latency_ms=ms, op="add")
        return bool(added) if ok else False

    def set_many(
        self,
        data: dict[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,  # type: ignore[assignment]
        version: int | None = None,
    ) -> list[Any]:
        if not data:
            return []
        family = key_family(next(iter(data)))
        ok, failed, ms = self._run(family, lambda: self.inner.set_many(data, timeout, version))
        if not ok:
            return list(data)
        self.recorder.record(
            family, sets=len(data) - len(failed or []), latency_ms=ms, op="set_many"
        )
        return list(failed or [])

    def touch(
        self,
        key: Any,
        timeout: float | None = DEFAULT_TIMEOUT,  # type: ignore[assignment]
        version: int | None = None,
    ) -> bool:
        family = key_family(key)
        ok, touched, ms = self._run(family, lambda: self.inner.touch(key, timeout, version))
        if ok:
            self.recorder.record(family, latency_ms=ms, op="touch")
        return bool(touched) if ok else False

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        """Increment; with the backend down, raise ``ValueError`` as for a missing key."""
        family = key_family(key)
        ok, value, ms = self._run(family, lambda: self.inner.incr(key, delta, version))
        if not ok:
            raise ValueError(f"Key '{key}' not found (cache unavailable)")
        self.recorder.record(family, sets=1, latency_ms=ms, op="incr")
        return int(value)

    def decr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self.incr(key, -delta, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        family = key_family(key)
        ok, deleted, ms = self._run(family, lambda: self.inner.delete(key, version))
        if ok:
            self.recorder.record(family, deletes=1, latency_ms=ms, op="delete")
        return bool(deleted) if ok else False

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        keys = list(keys)
        if not keys:
            return
        family = key_family(keys[0])
        ok, _, ms = self._run(family, lambda: self.inner.delete_many(keys, version))
        if ok:
            self.recorder.record(family, deletes=len(keys), latency_ms=ms, op="delete_many")

    def clear(self) -> None:
        ok, _, ms = self._run("clear", self.inner.clear)
        if ok:
            self.recorder.record("clear", latency_ms=ms, op="clear")

    # -- key handling and lifecycle belong to the inner backend -------------------------

    def make_key(self, key: Any, version: int | None = None) -> str:
        return self.inner.make_key(key, version)

    def validate_key(self, key: Any) -> None:
        self.inner.validate_key(key)

    def close(self, **kwargs: Any) -> None:
        # Closing a connection to a dead server is not an error.
        with contextlib.suppress(*CACHE_ERRORS):
            self.inner.close(**kwargs)

    # -- what the sampler reads ------------------------------------------------------------

    def redis_client(self) -> redis.Redis | None:
        """Return a client of the inner Redis (Django's pool), or None when not Redis."""
        if not isinstance(self.inner, RedisCache):
            return None
        return self.inner._cache.get_client(write=False)  # type: ignore[no-any-return]

    def footprint(self) -> tuple[int, int, int]:
        """Return (keys, memory bytes, evictions) of a local-memory inner cache."""
        if isinstance(self.inner, CountingLocMemCache):
            keys, size = self.inner.footprint()
            return keys, size, self.inner.evictions
        if isinstance(self.inner, LocMemCache):
            return len(cast(Any, self.inner)._cache), 0, 0
        return 0, 0, 0


# ======================================================================================
# Samples
# ======================================================================================

REDIS_INFO_FIELDS = (
    "keyspace_hits",
    "keyspace_misses",
    "instantaneous_ops_per_sec",
    "used_memory",
    "maxmemory",
    "connected_clients",
    "evicted_keys",
)


def redis_stats(client: redis.Redis) -> tuple[dict[str, int], int]:
    """Return the INFO fields of api.md and the key count of the cache's database."""
    pipe = client.pipeline(transaction=False)
    pipe.info()
    pipe.dbsize()
    info, dbsize = pipe.execute()
    return {name: int(info.get(name, 0) or 0) for name in REDIS_INFO_FIELDS}, int(dbsize)


Histograms = dict[str, Counter[int]]


def _split(fields: Mapping[str, int]) -> tuple[dict[str, Counter[str]], Histograms, Histograms]:
    """Split a bucket's fields into per-family counts, and latency histograms per family
    and per operation."""
    counts: dict[str, Counter[str]] = {}
    latency: Histograms = {}
    operations: Histograms = {}
    for name, value in fields.items():
        kind, _, rest = name.partition(":")
        if kind in ("l", "o"):
            owner, _, index = rest.rpartition(":")
            target = latency if kind == "l" else operations
            target.setdefault(owner, Counter())[int(index)] += value
        else:
            counts.setdefault(rest, Counter())[kind] += value
    return counts, latency, operations


def build_sample(
    *,
    cache: BaseCache,
    recorder: Recorder,
    clock: Clock = time.time,
    window_seconds: int = WINDOW_SECONDS,
) -> dict[str, Any]:
    """Return one sample of api.md's shape, with the extensions documented in docs/cache.md.

    The window is the ``window_seconds`` one-second buckets ending with the current one.
    """
    recorder.flush()
    now = clock()
    current = int(now)
    seconds = range(current - window_seconds + 1, current + 1)
    totals, buckets = recorder.store.read(seconds)

    life_counts, _, _ = _split(totals)
    window_counts: dict[str, Counter[str]] = {}
    window_latency: Histograms = {}
    window_ops: Histograms = {}
    for bucket in buckets:
        counts, latency, operations = _split(bucket)
        for family, counter in counts.items():
            window_counts.setdefault(family, Counter()).update(counter)
        for family, histogram in latency.items():
            window_latency.setdefault(family, Counter()).update(histogram)
        for op, histogram in operations.items():
            window_ops.setdefault(op, Counter()).update(histogram)
    rate_ops = sum(
        sum(v for k, v in bucket.items() if k.startswith("l:"))
        for bucket in buckets[-RATE_SECONDS - 1 : -1]
    )

    def family_sum(source: Mapping[str, Counter[str]], kind: str) -> int:
        return sum(counter[kind] for counter in source.values())

    families: dict[str, dict[str, Any]] = {}
    for family in sorted(set(life_counts) | set(window_counts) | set(window_latency)):
        if family == "clear":
            continue
        life = life_counts.get(family, Counter())
        win = window_counts.get(family, Counter())
        cost = win if win["c"] else life  # the miss path's cost now, else ever
        miss_cost = cost["cus"] / cost["c"] / 1000 if cost["c"] else None
        histogram = window_latency.get(family, Counter())
        families[family] = {
            "hits": win["h"],
            "misses": win["m"],
            "hit_ratio": ratio(win["h"], win["m"]),
            "sets": win["s"],
            "deletes": win["d"],
            "errors": win["e"],
            "saved_ms": round(win["h"] * miss_cost, 3) if miss_cost is not None else 0.0,
            "miss_cost_ms": round(miss_cost, 3) if miss_cost is not None else None,
            "latency_ms": {"p50": percentile(histogram, 0.5), "p99": percentile(histogram, 0.99)},
            "total_hits": life["h"],
            "total_misses": life["m"],
        }

    all_latency: Counter[int] = Counter()
    for histogram in window_latency.values():
        all_latency.update(histogram)
    hits, misses = family_sum(life_counts, "h"), family_sum(life_counts, "m")
    w_hits, w_misses = family_sum(window_counts, "h"), family_sum(window_counts, "m")

    redis_part: dict[str, int] | None = None
    keys = memory = evictions = 0
    client = cache.redis_client() if isinstance(cache, InstrumentedCache) else None
    if client is not None:
        try:
            redis_part, keys = redis_stats(client)
            memory, evictions = redis_part["used_memory"], redis_part["evicted_keys"]
        except CACHE_ERRORS as exc:
            logger.debug("cache metrics: redis INFO failed: %s", exc)
    elif isinstance(cache, InstrumentedCache):
        keys, memory, evictions = cache.footprint()

    return {
        "at": iso_ms(datetime.fromtimestamp(now, UTC)),
        "backend": cache.backend_name if isinstance(cache, InstrumentedCache) else "unknown",
        "hits": hits,
        "misses": misses,
        "hit_ratio": ratio(hits, misses),
        "sets": family_sum(life_counts, "s"),
        "deletes": family_sum(life_counts, "d"),
        "errors": family_sum(life_counts, "e"),
        "window": {
            "seconds": window_seconds,
            "hits": w_hits,
            "misses": w_misses,
            "hit_ratio": ratio(w_hits, w_misses),
            "sets": family_sum(window_counts, "s"),
            "deletes": family_sum(window_counts, "d"),
            "errors": family_sum(window_counts, "e"),
            "ops": sum(all_latency.values()),
            "saved_ms": round(sum(f["saved_ms"] for f in families.values()), 3),
        },
        "ops_per_sec": round(rate_ops / RATE_SECONDS, 2),
        "latency_ms": {"p50": percentile(all_latency, 0.5), "p99": percentile(all_latency, 0.99)},
        "keys": keys,
        "memory_bytes": memory,
        "evictions": evictions,
        "degraded": bool(isinstance(cache, InstrumentedCache) and cache.degraded),
        "families": families,
        "operations": {
            op: {
                "count": sum(histogram.values()),
                "p50": percentile(histogram, 0.5),
                "p99": percentile(histogram, 0.99),
            }
            for op, histogram in sorted(window_ops.items())
        },
        "redis": redis_part,
    }


# ======================================================================================
# Where samples are kept: the latest one and the history
# ======================================================================================


class SampleStore(Protocol):
    def push(self, sample: dict[str, Any]) -> None: ...

    def latest(self) -> dict[str, Any] | None: ...

    def history(self, limit: int = HISTORY_SECONDS) -> list[dict[str, Any]]: ...


class MemorySampleStore:
    def __init__(self, size: int = HISTORY_SECONDS) -> None:
        self._samples: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def push(self, sample: dict[str, Any]) -> None:
        with self._lock:
            self._samples.append(sample)

    def latest(self) -> dict[str, Any] | None:
        with self._lock:
            return self._samples[-1] if self._samples else None

    def history(self, limit: int = HISTORY_SECONDS) -> list[dict[str, Any]]:
        """Return up to ``limit`` samples, oldest first."""
        with self._lock:
            return list(self._samples)[-limit:] if limit > 0 else []


class RedisSampleStore:
    """``{ns}:latest`` (a JSON string) and ``{ns}:history`` (a list, newest first)."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = NAMESPACE,
        size: int = HISTORY_SECONDS,
        client: redis.Redis | None = None,
    ) -> None:
        self.client = client or redis_clients.client(url)
        self.namespace = namespace
        self.size = size

    def push(self, sample: dict[str, Any]) -> None:
        data = json.dumps(sample, separators=(",", ":"))
        pipe = self.client.pipeline(transaction=True)
        pipe.set(f"{self.namespace}:latest", data, ex=3600)
        pipe.lpush(f"{self.namespace}:history", data)
        pipe.ltrim(f"{self.namespace}:history", 0, self.size - 1)
        pipe.execute()

    def latest(self) -> dict[str, Any] | None:
        raw = self.client.get(f"{self.namespace}:latest")
        return json.loads(raw) if raw else None

    def history(self, limit: int = HISTORY_SECONDS) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        raw = self.client.lrange(f"{self.namespace}:history", 0, min(limit, self.size) - 1)
        return [json.loads(item) for item in reversed(raw)]


# ======================================================================================
# The process's defaults, from settings
# ======================================================================================

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
