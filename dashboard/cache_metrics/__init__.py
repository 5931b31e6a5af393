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

One job per module: ``histogram`` (key families, latency buckets, percentiles),
``counters`` (counter stores), ``recorder`` (the hot path's counts and their flusher),
``backend`` (the instrumented cache), ``sample`` (building a sample), ``stores`` (where
samples are kept), ``defaults`` (the process's recorder and store, from settings), and
``common`` (what they share). Every public name is importable from the package itself,
the one path other modules use.
"""

from dashboard.cache_metrics.backend import CountingLocMemCache, InstrumentedCache
from dashboard.cache_metrics.common import (
    BUCKET_RETENTION,
    CACHE_ERRORS,
    HISTORY_SECONDS,
    MAX_FAMILIES,
    NAMESPACE,
    RATE_SECONDS,
    WINDOW_SECONDS,
    Clock,
    RateLimitedLog,
)
from dashboard.cache_metrics.counters import CounterStore, MemoryCounterStore, RedisCounterStore
from dashboard.cache_metrics.defaults import (
    default_recorder,
    default_sample_store,
    latest_sample,
    sample_history,
)
from dashboard.cache_metrics.histogram import (
    bucket_ms,
    key_family,
    latency_bucket,
    percentile,
    ratio,
)
from dashboard.cache_metrics.recorder import Recorder
from dashboard.cache_metrics.sample import REDIS_INFO_FIELDS, build_sample, redis_stats
from dashboard.cache_metrics.stores import MemorySampleStore, RedisSampleStore, SampleStore

__all__ = [
    "BUCKET_RETENTION",
    "CACHE_ERRORS",
    "HISTORY_SECONDS",
    "MAX_FAMILIES",
    "NAMESPACE",
    "RATE_SECONDS",
    "REDIS_INFO_FIELDS",
    "WINDOW_SECONDS",
    "Clock",
    "CounterStore",
    "CountingLocMemCache",
    "InstrumentedCache",
    "MemoryCounterStore",
    "MemorySampleStore",
    "RateLimitedLog",
    "Recorder",
    "RedisCounterStore",
    "RedisSampleStore",
    "SampleStore",
    "bucket_ms",
    "build_sample",
    "default_recorder",
    "default_sample_store",
    "key_family",
    "latency_bucket",
    "latest_sample",
    "percentile",
    "ratio",
    "redis_stats",
    "sample_history",
]
