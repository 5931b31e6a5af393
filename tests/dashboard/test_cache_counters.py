"""The instrumented cache: counters per key family, latency, the sliding window, Redis stats.

Run against the local-memory backend and a real Redis (a private redis-server).
"""

from __future__ import annotations

import time

import pytest
import redis

from dashboard.cache_metrics import (
    InstrumentedCache,
    MemoryCounterStore,
    Recorder,
    RedisCounterStore,
    bucket_ms,
    build_sample,
    key_family,
    latency_bucket,
    percentile,
)
from dashboard.selectors.caching import cached
from tests.dashboard.cache_helpers import (
    API_SAMPLE_FIELDS,
    FakeClock,
    cache_config,
    closed_port_url,
)

pytest_plugins = ["tests.dashboard.cache_fixtures"]


@pytest.fixture(params=["memory", "redis"])
def store(request, namespace):
    if request.param == "memory":
        return MemoryCounterStore()
    url = request.getfixturevalue("redis_url")
    return RedisCounterStore(url, namespace=namespace)


@pytest.fixture(params=["locmem", "redis"])
def backend(request) -> str:
    return request.param


def make_cache(kind: str, recorder: Recorder, request: pytest.FixtureRequest) -> InstrumentedCache:
    location = request.getfixturevalue("redis_url") if kind == "redis" else ""
    config = cache_config(kind, location=location)["default"]
    return InstrumentedCache(config["LOCATION"], config, recorder=recorder)


# --------------------------------------------------------------------------------------
# Families and the histogram
# --------------------------------------------------------------------------------------


def test_key_family_is_the_keys_leading_letters():
    assert key_family("snapshot:12:abc") == "snapshot"
    assert key_family("throttle_write_3") == "throttle"
    assert key_family("stats:1:x") == "stats"
    assert key_family("42") == "other"


def test_percentiles_from_the_histogram_are_within_a_bucket_of_the_truth():
    values = [0.1] * 50 + [1.0] * 49 + [10.0]
    histogram: dict[int, int] = {}
    for value in values:
        histogram[latency_bucket(value)] = histogram.get(latency_bucket(value), 0) + 1
    p50, p99, p100 = (percentile(histogram, q) for q in (0.5, 0.99, 1.0))
    assert 0.1 / 1.2 <= p50 <= 0.1 * 1.2
    assert 1.0 / 1.2 <= p99 <= 1.0 * 1.2
    assert 10 / 1.2 <= p100 <= 10 * 1.2
    assert percentile({}, 0.5) is None
    assert bucket_ms(latency_bucket(3.0)) == pytest.approx(3.0, rel=0.2)


# --------------------------------------------------------------------------------------
# Counting through the wrapper, on both backends
# --------------------------------------------------------------------------------------


def test_wrapper_counts_hits_misses_sets_and_deletes_per_family(backend, request):
    recorder = Recorder(MemoryCounterStore(), autoflush=False)
    cache = make_cache(backend, recorder, request)
    assert cache.get("snapshot:1:a") is None
    cache.set("snapshot:1:a", {"x": 1})
    assert cache.get("snapshot:1:a") == {"x": 1}
    assert cache.get("snapshot:1:a", "dflt") == {"x": 1}
    cache.set("throttle_write_1", [1.0])
    assert cache.get("throttle_write_1") == [1.0]
    assert cache.add("throttle_write_1", [2.0]) is False
    assert cache.delete("snapshot:1:a") is True
    assert cache.get("snapshot:1:a", "dflt") == "dflt"
    assert cache.get_many(["stats:1:a", "stats:2:a"]) == {}
    cache.set_many({"stats:1:a": 1, "stats:2:a": 2})
    assert cache.get_many(["stats:1:a", "stats:2:a", "stats:3:a"]) == {
        "stats:1:a": 1,
        "stats:2:a": 2,
    }

    sample = build_sample(cache=cache, recorder=recorder)
    snap, throttle, stats = (sample["families"][f] for f in ("snapshot", "throttle", "stats"))
    assert (snap["hits"], snap["misses"], snap["sets"], snap["deletes"]) == (2, 2, 1, 1)
    assert (throttle["hits"], throttle["misses"], throttle["sets"]) == (1, 0, 1)
    assert (stats["hits"], stats["misses"], stats["sets"]) == (2, 3, 2)
    assert snap["hit_ratio"] == 0.5
    assert (sample["hits"], sample["misses"]) == (5, 5)
    assert sample["window"]["hits"] == 5 and sample["window"]["hit_ratio"] == 0.5
    assert sample["backend"] == backend
    assert set(sample) >= API_SAMPLE_FIELDS
    assert (
        sample["latency_ms"]["p50"] > 0
        and sample["latency_ms"]["p99"] >= sample["latency_ms"]["p50"]
    )
    if backend == "redis":
        assert set(sample["redis"]) == {
            "keyspace_hits",
            "keyspace_misses",
            "instantaneous_ops_per_sec",
            "used_memory",
            "maxmemory",
            "connected_clients",
            "evicted_keys",
        }
        assert sample["redis"]["used_memory"] > 0 and sample["redis"]["connected_clients"] >= 1
        assert sample["memory_bytes"] == sample["redis"]["used_memory"]
        assert sample["keys"] >= 3
    else:
        assert sample["redis"] is None
        assert sample["keys"] == 3  # throttle + two stats
        assert sample["memory_bytes"] > 0


def test_latency_is_kept_per_operation_too(backend, request):
    recorder = Recorder(MemoryCounterStore(), autoflush=False)
    cache = make_cache(backend, recorder, request)
    for i in range(5):
        cache.set(f"snapshot:{i}", "x" * 100)
        cache.get(f"snapshot:{i}")
    cache.get_many(["snapshot:1", "stats:1"])
    cache.delete("snapshot:1")
    operations = build_sample(cache=cache, recorder=recorder)["operations"]
    assert {op: o["count"] for op, o in operations.items()} == {
        "set": 5,
        "get": 5,
        "get_many": 1,
        "delete": 1,
    }
    assert all(o["p50"] > 0 and o["p99"] >= o["p50"] for o in operations.values())


def test_incr_and_get_or_set_go_through_the_counters(backend, request):
    recorder = Recorder(MemoryCounterStore(), autoflush=False)
    cache = make_cache(backend, recorder, request)
    assert cache.get_or_set("version:cohort:1", "tok") == "tok"
    assert cache.get_or_set("version:cohort:1", "other") == "tok"
    cache.set("counter:1", 1)
    assert cache.incr("counter:1", 2) == 3
    with pytest.raises(ValueError):
        cache.incr("counter:missing")
    sample = build_sample(cache=cache, recorder=recorder)
    # Django's get_or_set: get (miss), add, get again (hit); then one hit.
    assert sample["families"]["version"]["hits"] == 2
    assert sample["families"]["version"]["misses"] == 1
    assert sample["families"]["version"]["sets"] == 1
    assert sample["families"]["counter"]["sets"] == 2


def test_locmem_evictions_are_counted(request):
    recorder = Recorder(MemoryCounterStore(), autoflush=False)
    config = cache_config("locmem")["default"]
    config["OPTIONS"]["INNER_OPTIONS"] = {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2}
    cache = InstrumentedCache(config["LOCATION"], config, recorder=recorder)
    for i in range(30):
        cache.set(f"k:{i}", i)
    sample = build_sample(cache=cache, recorder=recorder)
    assert sample["evictions"] > 0
    assert sample["keys"] <= 11


def test_time_a_hit_saves_is_the_measured_cost_of_the_miss_path(settings, request):
    settings.CACHES = cache_config("locmem")
    from django.core.cache import caches

    from dashboard.cache_metrics import default_recorder

    recorder = default_recorder()
    recorder.flush()
    before = build_sample(cache=caches["default"], recorder=recorder)["families"].get("slow", {})

    def slow() -> str:
        time.sleep(0.03)
        return "value"

    for _ in range(4):  # one miss (30 ms), three hits
        assert cached("slow", "slow:1", slow, timeout=60) == "value"
    family = build_sample(cache=caches["default"], recorder=recorder)["families"]["slow"]
    assert family["hits"] - before.get("hits", 0) == 3
    assert family["misses"] - before.get("misses", 0) == 1
    assert family["miss_cost_ms"] >= 30
    assert family["saved_ms"] >= 3 * 30 * 0.99
    assert family["saved_ms"] == pytest.approx(family["hits"] * family["miss_cost_ms"], rel=0.01)


# --------------------------------------------------------------------------------------
# The window, on a fake clock, with both counter stores
# --------------------------------------------------------------------------------------


def test_window_slides_over_the_last_sixty_seconds_while_totals_keep_everything(store):
    clock = FakeClock()
    recorder = Recorder(store, clock=clock, autoflush=False)
    cache = InstrumentedCache("", cache_config("locmem")["default"], recorder=recorder)

    for _ in range(10):
        recorder.record("snapshot", hits=1, latency_ms=0.1)
    recorder.record("snapshot", misses=1, latency_ms=5.0)
    first = build_sample(cache=cache, recorder=recorder, clock=clock)
    assert (first["window"]["hits"], first["window"]["misses"]) == (10, 1)

    clock.advance(30)
    for _ in range(5):
        recorder.record("snapshot", misses=1, latency_ms=5.0)
    mid = build_sample(cache=cache, recorder=recorder, clock=clock)
    assert (mid["window"]["hits"], mid["window"]["misses"]) == (10, 6)
    assert mid["window"]["hit_ratio"] == pytest.approx(10 / 16, abs=1e-4)

    clock.advance(30)  # the first second is now 60 s old: out of the window
    late = build_sample(cache=cache, recorder=recorder, clock=clock)
    assert (late["window"]["hits"], late["window"]["misses"]) == (0, 5)
    assert late["window"]["hit_ratio"] == 0.0
    assert late["latency_ms"]["p50"] == pytest.approx(5.0, rel=0.2)
    assert (late["hits"], late["misses"]) == (10, 6)  # lifetime
    assert late["window"]["seconds"] == 60

    clock.advance(31)
    empty = build_sample(cache=cache, recorder=recorder, clock=clock)
    assert empty["window"]["hit_ratio"] is None
    assert empty["latency_ms"] == {"p50": None, "p99": None}
    assert empty["hit_ratio"] == pytest.approx(10 / 16, abs=1e-4)


def test_p50_and_p99_cover_the_window_only(store):
    clock = FakeClock()
    recorder = Recorder(store, clock=clock, autoflush=False)
    cache = InstrumentedCache("", cache_config("locmem")["default"], recorder=recorder)
    for _ in range(100):
        recorder.record("stats", hits=1, latency_ms=50.0)
    clock.advance(61)
    for i in range(100):
        recorder.record("stats", hits=1, latency_ms=2.0 if i == 99 else 0.2)
    sample = build_sample(cache=cache, recorder=recorder, clock=clock)
    assert sample["latency_ms"]["p50"] == pytest.approx(0.2, rel=0.2)
    assert sample["latency_ms"]["p99"] == pytest.approx(0.2, rel=0.2)
    assert sample["families"]["stats"]["latency_ms"]["p50"] == pytest.approx(0.2, rel=0.2)


def test_ops_per_sec_is_the_mean_of_the_last_ten_complete_seconds(store):
    clock = FakeClock(1_800_000_000.5)
    recorder = Recorder(store, clock=clock, autoflush=False)
    cache = InstrumentedCache("", cache_config("locmem")["default"], recorder=recorder)
    for _ in range(12):
        for _ in range(20):
            recorder.record("snapshot", hits=1, latency_ms=0.1)
        clock.advance(1)
    for _ in range(7):  # the current, incomplete second does not count
        recorder.record("snapshot", hits=1, latency_ms=0.1)
    assert build_sample(cache=cache, recorder=recorder, clock=clock)["ops_per_sec"] == 20.0


# --------------------------------------------------------------------------------------
# Redis: every process adds up, with one round trip per flush, not per operation
# --------------------------------------------------------------------------------------


class CountingStore(RedisCounterStore):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.round_trips = 0

    def add(self, per_second) -> None:
        self.round_trips += 1
        super().add(per_second)


def test_counts_of_several_processes_add_up_in_redis(redis_url, namespace):
    clock = FakeClock()
    process_a = Recorder(
        RedisCounterStore(redis_url, namespace=namespace), clock=clock, autoflush=False
    )
    process_b = Recorder(
        RedisCounterStore(redis_url, namespace=namespace), clock=clock, autoflush=False
    )
    cache_a = make_cache_on(redis_url, process_a)
    cache_b = make_cache_on(redis_url, process_b, prefix=cache_a.key_prefix)
    cache_a.set("snapshot:1:a", 1)
    for _ in range(3):
        cache_a.get("snapshot:1:a")
        cache_b.get("snapshot:1:a")
    cache_b.get("snapshot:1:zz")
    process_a.flush()
    sample = build_sample(cache=cache_b, recorder=process_b, clock=clock)  # flushes b
    assert (sample["hits"], sample["misses"]) == (6, 1)
    assert sample["families"]["snapshot"]["sets"] == 1


def make_cache_on(url: str, recorder: Recorder, prefix: str = "") -> InstrumentedCache:
    config = cache_config("redis", location=url, prefix=prefix)["default"]
    return InstrumentedCache(config["LOCATION"], config, recorder=recorder)


def test_the_hot_path_makes_no_round_trip_to_the_counter_store(redis_url, namespace):
    store = CountingStore(redis_url, namespace=namespace)
    recorder = Recorder(store, autoflush=False)
    cache = make_cache_on(redis_url, recorder)
    for i in range(500):
        cache.get(f"snapshot:{i}")
    assert store.round_trips == 0
    recorder.flush()
    assert store.round_trips == 1
    totals, _ = store.read([])
    assert totals["m:snapshot"] == 500


def test_the_flusher_thread_ships_the_counts_every_interval(redis_url, namespace):
    store = CountingStore(redis_url, namespace=namespace)
    recorder = Recorder(store, flush_interval=0.05)
    recorder.record("snapshot", hits=3)
    deadline = time.monotonic() + 5
    while store.read([])[0].get("h:snapshot") != 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.read([])[0]["h:snapshot"] == 3


def test_a_failed_flush_drops_the_counts_and_never_raises(namespace, caplog):
    recorder = Recorder(RedisCounterStore(closed_port_url(), namespace=namespace), autoflush=False)
    for _ in range(3):
        recorder.record("snapshot", hits=1)
        recorder.flush()
    assert recorder._pending == {}
    assert sum("flush failed" in r.getMessage() for r in caplog.records) == 1  # rate-limited


def test_redis_info_answers_null_when_redis_stops_answering(redis_url):
    recorder = Recorder(MemoryCounterStore(), autoflush=False)
    cache = make_cache_on(redis_url, recorder)
    assert build_sample(cache=cache, recorder=recorder)["redis"] is not None
    client = cache.redis_client()
    assert isinstance(client, redis.Redis)
    dead = make_cache_on(closed_port_url(), recorder)
    sample = build_sample(cache=dead, recorder=recorder)
    assert sample["redis"] is None and sample["backend"] == "redis"
