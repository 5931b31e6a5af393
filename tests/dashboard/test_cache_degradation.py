"""Redis down: cache operations become misses and no-ops, logged rarely, never raised, and
the REST layer keeps answering (writes included, whose throttle uses the cache)."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.cache.backends.redis import RedisCache

from dashboard.cache_metrics import InstrumentedCache, MemoryCounterStore, Recorder, build_sample
from tests.dashboard.cache_helpers import cache_config, closed_port_url

pytest_plugins = ["tests.dashboard.cache_fixtures"]


@pytest.fixture
def dead_redis(settings) -> str:
    url = closed_port_url()
    settings.CACHES = cache_config("redis", location=url)
    settings.WRITE_THROTTLE = "120/min"
    return url


def test_every_operation_degrades_without_raising(caplog):
    recorder = Recorder(MemoryCounterStore(), autoflush=False)
    config = cache_config("redis", location=closed_port_url())["default"]
    cache = InstrumentedCache(config["LOCATION"], config, recorder=recorder)
    with caplog.at_level(logging.WARNING, logger="dashboard.cache_metrics"):
        assert cache.get("snapshot:1", "dflt") == "dflt"
        assert cache.set("snapshot:1", 1) is None
        assert cache.add("snapshot:1", 1) is False
        assert cache.get_many(["stats:1", "stats:2"]) == {}
        assert cache.set_many({"stats:1": 1}) == ["stats:1"]
        assert cache.delete("snapshot:1") is False
        cache.delete_many(["snapshot:1"])
        assert cache.has_key("snapshot:1") is False
        assert cache.touch("snapshot:1") is False
        assert cache.get_or_set("snapshot:2", "computed") == "computed"
        cache.clear()
        with pytest.raises(ValueError):  # incr's contract for "not there"
            cache.incr("counter:1")
    assert cache.degraded
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited, not one per operation
    sample = build_sample(cache=cache, recorder=recorder)
    assert sample["errors"] >= 10
    assert sample["families"]["snapshot"]["misses"] >= 2
    assert sample["degraded"] is True
    assert sample["redis"] is None


def test_a_dead_redis_costs_a_request_no_timeout(settings):
    config = cache_config("redis", location=closed_port_url())["default"]
    cache = InstrumentedCache(config["LOCATION"], config)
    started = time.perf_counter()
    for _ in range(200):
        cache.get("throttle_write_1")
    assert time.perf_counter() - started < 1.0


def test_the_cache_recovers_when_redis_comes_back(redis_url):
    recorder = Recorder(MemoryCounterStore(), autoflush=False)
    config = cache_config("redis", location=redis_url)["default"]
    cache = InstrumentedCache(config["LOCATION"], config, recorder=recorder)
    cache._down_until = time.monotonic() + 0.2  # as after a failure
    assert cache.get("snapshot:9", "miss") == "miss"
    time.sleep(0.25)
    cache.set("snapshot:9", "back")
    assert cache.get("snapshot:9") == "back"
    assert not cache.degraded


def test_rest_writes_and_reads_succeed_with_redis_down(dead_redis, world, client_for):
    client = client_for(world.mentor)
    response = client.patch(
        f"/api/cohorts/{world.cohort.pk}/progress/{world.learner.pk}/python/",
        {"status": "in_progress", "version": 1},
        format="json",
    )
    assert response.status_code == 200
    response = client.post(f"/api/cohorts/{world.cohort.pk}/events/{response.json()['seq']}/kudos/")
    assert response.status_code == 201
    snapshot = client.get(f"/api/cohorts/{world.cohort.pk}/snapshot/")
    assert snapshot.status_code == 200
    assert snapshot.json()["learners"][0]["progress"]["python"]["status"] == "in_progress"
    assert client.get("/api/cohorts/").status_code == 200
    assert client.get("/api/metrics/cache/").status_code == 200


def test_a_bump_lost_to_an_outage_bypasses_the_cache_until_it_lands(settings, redis_url, world):
    """Entries cached before the outage must not be served once Redis is back."""
    from django.core.cache import cache

    from dashboard.selectors import caching
    from dashboard.selectors.cohorts import cohort_snapshot
    from dashboard.services.progress import progress_update

    settings.CACHES = cache_config("redis", location=redis_url)
    cohort_id = world.cohort.pk
    cohort_snapshot(cohort_id=cohort_id)  # cached under the current token
    token = caching.cohort_cache_version(cohort_id)
    real = cache.inner  # type: ignore[attr-defined]
    cache.inner = RedisCache(closed_port_url(), {})  # type: ignore[attr-defined]
    try:
        progress_update(
            actor=world.mentor,
            cohort_id=cohort_id,
            learner_id=world.learner.pk,
            milestone_slug="python",
            version=1,
            status="in_progress",
        )
    finally:
        cache.inner = real  # type: ignore[attr-defined]
        cache._down_until = 0.0  # type: ignore[attr-defined]
    assert cohort_id in caching._unbumped
    # Redis is back and still holds the old token and bundle; the read retries the bump.
    fresh = cohort_snapshot(cohort_id=cohort_id)
    assert fresh["learners"][0]["progress"]["python"]["status"] == "in_progress"
    assert caching.cohort_cache_version(cohort_id) != token
    assert cohort_id not in caching._unbumped
