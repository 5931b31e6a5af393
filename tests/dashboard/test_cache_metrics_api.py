"""``GET /api/metrics/cache/``: mentors and staff only, api.md's shape, numbers that move."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from dashboard import cache_metrics
from dashboard.cache_metrics import MemorySampleStore
from tests.dashboard.cache_helpers import API_SAMPLE_FIELDS

pytest_plugins = ["tests.dashboard.cache_fixtures"]

URL = "/api/metrics/cache/"


def test_anonymous_gets_401(db, client_for):
    response = client_for(None).get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_learners_and_outsiders_get_403(world, outsider, client_for):
    for user in (world.learner.user, outsider):
        response = client_for(user).get(URL)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("who", ["mentor", "staff"])
def test_mentors_and_staff_get_the_current_sample_and_history(who, world, staff, client_for):
    user = world.mentor if who == "mentor" else staff
    response = client_for(user).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"current", "history"}
    assert set(body["current"]) >= API_SAMPLE_FIELDS
    assert set(body["current"]["window"]) >= {"seconds", "hits", "misses", "hit_ratio"}
    assert body["current"]["window"]["seconds"] == 60
    assert set(body["current"]["latency_ms"]) == {"p50", "p99"}
    assert isinstance(body["history"], list)


def test_the_history_is_what_the_sampler_kept(world, client_for, monkeypatch):
    store = MemorySampleStore()
    monkeypatch.setattr(cache_metrics.defaults, "_samples", store)
    marker = {"at": "2026-01-01T00:00:00.000Z", "marker": True}
    store.push(marker)
    body = client_for(world.mentor).get(URL, {"history": 600}).json()
    assert body["current"] == marker
    assert body["history"][-1] == marker
    assert client_for(world.mentor).get(URL, {"history": 0}).json()["history"] == []


def test_the_history_is_downsampled_on_request_keeping_the_newest(world, client_for, monkeypatch):
    store = MemorySampleStore()
    monkeypatch.setattr(cache_metrics.defaults, "_samples", store)
    for second in range(25):
        store.push({"at": f"2026-01-01T00:00:{second:02d}.000Z", "n": second})
    body = client_for(world.mentor).get(URL, {"history": 600, "every": 10}).json()
    assert [s["n"] for s in body["history"]] == [4, 14, 24]
    every_one = client_for(world.mentor).get(URL, {"history": 600}).json()["history"]
    assert len(every_one) == 25
    assert client_for(world.mentor).get(URL, {"every": 0}).status_code == 400


@pytest.mark.parametrize("value", ["-1", "601", "abc"])
def test_a_bad_history_parameter_is_a_400(value, world, client_for):
    response = client_for(world.mentor).get(URL, {"history": value})
    assert response.status_code == 400
    assert "history" in response.json()["error"]["fields"]


def test_the_numbers_move_when_the_dashboard_is_used(cache_kind, world, client_for, monkeypatch):
    from dashboard.selectors import metrics

    monkeypatch.setattr(metrics, "latest_sample", lambda: None)  # sample on the spot
    client = client_for(world.mentor)
    before = client.get(URL).json()["current"]
    for _ in range(3):
        assert client.get(f"/api/cohorts/{world.cohort.pk}/snapshot/").status_code == 200
    after = client.get(URL).json()["current"]
    assert after["backend"] == cache_kind
    family = after["families"]["snapshot"]
    old = before["families"].get("snapshot", {"hits": 0, "misses": 0})
    assert family["hits"] - old["hits"] >= 2
    assert family["misses"] - old["misses"] >= 1
    assert family["miss_cost_ms"] > 0 and family["saved_ms"] > 0
    assert after["window"]["hits"] > before["window"]["hits"]
    assert after["keys"] > 0
    if cache_kind == "redis":
        assert after["redis"]["used_memory"] > 0
    else:
        assert after["redis"] is None


def test_the_schema_describes_the_nested_sample(db, client_for, staff):
    schema = client_for(staff).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/metrics/cache/"]["get"]
    assert {"200", "401", "403"} <= set(operation["responses"])
    components = schema["components"]["schemas"]
    sample = components["CacheSample"]["properties"]
    assert set(sample) >= API_SAMPLE_FIELDS
    assert sample["families"]["additionalProperties"]["$ref"].endswith("/CacheFamily")
    assert set(components["CacheRedisInfo"]["properties"]) == {
        "keyspace_hits",
        "keyspace_misses",
        "instantaneous_ops_per_sec",
        "used_memory",
        "maxmemory",
        "connected_clients",
        "evicted_keys",
    }


def test_the_schema_declares_exactly_the_fields_a_real_sample_has(cache_kind, world, client_for):
    from dashboard.apis import metrics as api

    client = client_for(world.mentor)
    client.get(f"/api/cohorts/{world.cohort.pk}/snapshot/")
    client.get(f"/api/cohorts/{world.cohort.pk}/snapshot/")
    sample = cache_metrics.build_sample(
        cache=caches["default"], recorder=cache_metrics.default_recorder()
    )
    sample["sampler"] = "host:1"

    def declared(serializer) -> set[str]:
        return set(serializer.fields)

    assert set(sample) == declared(api.CacheSampleSerializer())
    assert set(sample["window"]) == declared(api.CacheWindowSerializer())
    assert set(sample["families"]["snapshot"]) == declared(api.CacheFamilySerializer())
    assert set(next(iter(sample["operations"].values()))) == declared(
        api.CacheOperationSerializer()
    )
    if cache_kind == "redis":
        assert set(sample["redis"]) == declared(api.CacheRedisInfoSerializer())
