"""The recorder: the hot path's per-process counts, and the thread that flushes them to
a counter store once a second."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter

from dashboard.cache_metrics.common import CACHE_ERRORS, MAX_FAMILIES, Clock, RateLimitedLog
from dashboard.cache_metrics.counters import CounterStore
from dashboard.cache_metrics.histogram import latency_bucket

# One logger for the package: its records keep the name they had as one module.
logger = logging.getLogger("dashboard.cache_metrics")


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
