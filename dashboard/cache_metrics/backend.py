"""The instrumented cache backend: measures and shields the backend it wraps."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils.module_loading import import_string

from dashboard.cache_metrics.common import CACHE_ERRORS, RateLimitedLog
from dashboard.cache_metrics.defaults import default_recorder
from dashboard.cache_metrics.histogram import key_family
from dashboard.cache_metrics.recorder import Recorder


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
