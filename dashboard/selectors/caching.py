"""The REST layer's own caching: versioned per-cohort keys, bumped after every write.

Each cohort has a version token in the cache (``version:cohort:{id}``). Cached reads of
the cohort live under keys that embed it (``snapshot:{id}:{token}``, ``stats:{id}:{token}``),
so a write never deletes anything: ``event_append`` (the one path of every write) replaces
the token, and every later reader builds keys nobody has filled yet.

Why a reader never sees data older than a write it could already see: the token is
replaced after the write's commit, and a reader reads the token *before* it reads the
database. Whatever it stores under a token was therefore read after that token became
current, i.e. after every write whose bump preceded it. A reader that raced the commit
stores under the old token, which nobody reads any more. The token is also replaced
inside the write's transaction, so a read in that same transaction misses as well.

A token is random, not a counter: if the cache loses it (eviction, restart), a new one
cannot collide with keys written under the old.

Each process also keeps the last few values it read or built, as objects, under the same
versioned keys (``_near``): a key never changes meaning, so a value held here is exactly
what the shared cache would return, without its round trip and unpickling (9 ms for a
400-learner snapshot bundle). Values read through ``cached`` are shared by the threads
of the process and must not be changed by their readers
(``tests/dashboard/test_near_cache.py`` checks every reader of the bundle).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

from dashboard.cache_metrics import default_recorder

logger = logging.getLogger(__name__)

T = TypeVar("T")

SNAPSHOT_TTL = 300  # also bounds how long a bump lost to a Redis outage can matter
STATS_TTL = 300

# Cohorts whose bump failed (cache down): this process bypasses their cache entries and
# retries the bump until it lands.
_unbumped: set[int] = set()
_unbumped_lock = threading.Lock()


def _version_key(cohort_id: int) -> str:
    return f"version:cohort:{cohort_id}"


def _new_token() -> str:
    return uuid.uuid4().hex[:16]


def _degraded() -> bool:
    return bool(getattr(cache, "degraded", False))


def cohort_cache_bump(cohort_id: int) -> None:
    """Replace the cohort's version token, orphaning everything cached for it."""
    cache.set(_version_key(cohort_id), _new_token(), timeout=None)
    with _unbumped_lock:
        if _degraded():
            _unbumped.add(cohort_id)
        else:
            _unbumped.discard(cohort_id)


def cohort_cache_invalidate_on_commit(cohort_id: int) -> None:
    """Invalidate the cohort's cached reads now and once the current transaction commits.

    Call it before the event is broadcast, so that a client reacting to the pushed event
    already reads the new version.
    """
    cohort_cache_bump(cohort_id)
    transaction.on_commit(lambda: cohort_cache_bump(cohort_id))


def cohort_cache_version(cohort_id: int) -> str | None:
    """Return the cohort's current token (creating it), or None when the cache must be
    bypassed for this cohort (a bump is still owed)."""
    if cohort_id in _unbumped:
        cohort_cache_bump(cohort_id)
        if cohort_id in _unbumped:
            return None
    key = _version_key(cohort_id)
    token = cache.get(key)
    if token is None:
        token = _new_token()
        if not cache.add(key, token, timeout=None):
            token = cache.get(key) or token
    return str(token)


def cohort_cache_versions(cohort_ids: Iterable[int]) -> dict[int, str | None]:
    """Return the tokens of several cohorts in one cache round trip (plus one per new one)."""
    ids = list(cohort_ids)
    found = cache.get_many([_version_key(i) for i in ids if i not in _unbumped])
    versions: dict[int, str | None] = {}
    for cohort_id in ids:
        token = found.get(_version_key(cohort_id))
        versions[cohort_id] = str(token) if token is not None else cohort_cache_version(cohort_id)
    return versions


# ======================================================================================
# Cached reads
# ======================================================================================


class _NearCache:
    """The last ``size`` values this process read or built, by versioned key, each kept no
    longer than the shared cache keeps it. Thread-safe; values are shared, not copied."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> object | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: str, value: object, timeout: int) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + timeout, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# A 400-learner bundle is ~2 MB of objects: 16 keep the busy cohorts' of one process.
_near = _NearCache(16)


class _Flight:
    """One computation of a key in this process, which other threads missing the same key
    wait for instead of computing it again."""

    __slots__ = ("done", "ok", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.value: object = None


_flights: dict[str, _Flight] = {}
_flights_lock = threading.Lock()
# How long a thread waits for another's computation of the same key before doing its own.
FLIGHT_WAIT = 10.0


def _compute(family: str, compute: Callable[[], T]) -> T:
    started = time.perf_counter()
    value = compute()
    default_recorder().record_compute(family, (time.perf_counter() - started) * 1000)
    return value


def cached(family: str, key: str | None, compute: Callable[[], T], *, timeout: int) -> T:
    """Return the value under ``key``, or compute, time and store it.

    The time the miss path took is recorded for ``family``: it is what the next hit saves.
    ``key`` None bypasses the cache. Threads of this process that miss a key another
    thread is computing wait for that computation (one flight per key) instead of each
    running it: after a write, every open dashboard of a big cohort asks for its new
    snapshot at once, and N concurrent builds of a 400-learner bundle each took N times
    as long. What a waiter gets was read under the same token, so it is exactly what a
    cache hit a moment later would give.
    """
    if key is None:
        return _compute(family, compute)
    value = _near.get(key)
    if value is not None:
        # Served from the cache all the same: the hit ratio counts it (no latency: none
        # to speak of, and the histogram is of the shared cache's round trips).
        default_recorder().record(family, hits=1)
        return value  # type: ignore[return-value]
    value = cache.get(key)
    if value is not None:
        _near.put(key, value, timeout)
        return value  # type: ignore[no-any-return]
    with _flights_lock:
        flight = _flights.get(key)
        leading = flight is None
        if flight is None:
            flight = _flights[key] = _Flight()
    if not leading:
        if flight.done.wait(FLIGHT_WAIT) and flight.ok:
            return flight.value  # type: ignore[return-value]
        # The computing thread failed or is stuck: compute (and store) this one's own.
        value = _compute(family, compute)
        cache.set(key, value, timeout=timeout)
        _near.put(key, value, timeout)
        return value
    try:
        value = _compute(family, compute)
        cache.set(key, value, timeout=timeout)
        _near.put(key, value, timeout)
        flight.value, flight.ok = value, True
        return value
    finally:
        with _flights_lock:
            _flights.pop(key, None)
        flight.done.set()


def cached_per_cohort(
    family: str,
    cohort_ids: list[int],
    compute: Callable[[list[int]], dict[int, T]],
    *,
    timeout: int,
) -> dict[int, T]:
    """Return ``{cohort id: value}``, computing only the cohorts missing from the cache."""
    if not cohort_ids:
        return {}
    versions = cohort_cache_versions(cohort_ids)
    keys = {
        cohort_id: f"{family}:{cohort_id}:{token}"
        for cohort_id, token in versions.items()
        if token is not None
    }
    found = cache.get_many(list(keys.values())) if keys else {}
    result = {cohort_id: found[key] for cohort_id, key in keys.items() if key in found}
    missing = [cohort_id for cohort_id in cohort_ids if cohort_id not in result]
    if missing:
        started = time.perf_counter()
        computed = compute(missing)
        elapsed = (time.perf_counter() - started) * 1000
        default_recorder().record_compute(family, elapsed / len(missing))
        to_store = {keys[i]: value for i, value in computed.items() if i in keys}
        if to_store:
            cache.set_many(to_store, timeout=timeout)
        result.update(computed)
    return result


def cohort_snapshot_cached(cohort_id: int, compute: Callable[[], T]) -> T:
    """Return the cohort's cached snapshot bundle, computing it on a miss."""
    token = cohort_cache_version(cohort_id)
    key = f"snapshot:{cohort_id}:{token}" if token is not None else None
    return cached("snapshot", key, compute, timeout=SNAPSHOT_TTL)
