"""One cache metrics sample (api.md's shape) built from the counters and the cache."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import redis
from django.core.cache.backends.base import BaseCache

from dashboard.cache_metrics.backend import InstrumentedCache
from dashboard.cache_metrics.common import CACHE_ERRORS, RATE_SECONDS, WINDOW_SECONDS, Clock
from dashboard.cache_metrics.histogram import percentile, ratio
from dashboard.cache_metrics.recorder import Recorder
from dashboard.formats import iso_ms

# One logger for the package: its records keep the name they had as one module.
logger = logging.getLogger("dashboard.cache_metrics")


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
