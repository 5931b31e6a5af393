"""The process's near cache: cached values held as objects under their versioned keys.

A value is served without the shared cache's round trip (and its unpickling) for as long as
the shared cache would keep it; a write's new token makes a new key, so nothing stale is
ever served; and since readers share the objects, none of them may change the bundle.
"""

from __future__ import annotations

import copy

import pytest
from django.core.cache import cache

from dashboard.selectors import caching
from dashboard.selectors.cohorts import _snapshot_bundle
from dashboard.services.progress import progress_update
from tests.graphql.conftest import GraphQLClient
from tests.graphql.test_queries import COHORT


@pytest.fixture(autouse=True)
def _clear():
    cache.clear()
    caching._near.clear()
    yield
    cache.clear()
    caching._near.clear()


def test_a_value_read_once_is_served_without_the_shared_cache(monkeypatch):
    assert caching.cached("snapshot", "near:1", lambda: {"rows": 1}, timeout=60) == {"rows": 1}
    gets = []
    monkeypatch.setattr(cache, "get", lambda *a, **k: gets.append(a) or None)
    value = caching.cached("snapshot", "near:1", lambda: {"rows": "recomputed"}, timeout=60)
    assert value == {"rows": 1}
    assert gets == []


def test_a_value_found_in_the_shared_cache_is_kept_near():
    cache.set("near:2", {"from": "shared"}, 60)  # another process built it
    assert caching.cached("snapshot", "near:2", lambda: "never", timeout=60) == {"from": "shared"}
    cache.delete("near:2")
    assert caching.cached("snapshot", "near:2", lambda: "never", timeout=60) == {"from": "shared"}


def test_a_near_value_expires_with_the_shared_cache_timeout(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(caching.time, "monotonic", lambda: now[0])
    caching.cached("snapshot", "near:3", lambda: "old", timeout=60)
    cache.delete("near:3")
    now[0] += 61
    assert caching.cached("snapshot", "near:3", lambda: "rebuilt", timeout=60) == "rebuilt"


def test_the_near_cache_is_bounded():
    for i in range(caching._near.size + 5):
        caching.cached("snapshot", f"near:b{i}", lambda i=i: i, timeout=60)
    assert len(caching._near._items) == caching._near.size
    assert caching._near.get("near:b0") is None
    assert caching._near.get(f"near:b{caching._near.size + 4}") == caching._near.size + 4


def test_a_near_hit_counts_as_a_hit(monkeypatch):
    recorded = []
    recorder = caching.default_recorder()
    monkeypatch.setattr(recorder, "record", lambda family, **counts: recorded.append(counts))
    caching._near.put("near:4", "held", 60)
    caching.cached("snapshot", "near:4", lambda: "never", timeout=60)
    assert recorded == [{"hits": 1}]


def test_a_write_is_seen_at_once_although_the_old_bundle_is_held(world, client_for):
    client = client_for(world.mentor)
    url = f"/api/cohorts/{world.cohort.pk}/snapshot/"
    assert client.get(url).json()["learners"][0]["progress"]["python"]["status"] == "not_started"
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=world.learner.pk,
        milestone_slug="python",
        status="in_progress",
        version=1,
    )
    assert client.get(url).json()["learners"][0]["progress"]["python"]["status"] == "in_progress"


def test_no_reader_changes_the_shared_bundle(world, client_for):
    """Every reader of the bundle, as a mentor and as a learner, then the held bundle is
    still what the database says (a reader that changed it would change everyone's)."""
    cohort = world.cohort.pk
    progress_update(
        actor=world.mentor,
        cohort_id=cohort,
        learner_id=world.learners[1].pk,
        milestone_slug="python",
        status="completed",
        score=64,
        version=1,
    )
    expected = copy.deepcopy(_snapshot_bundle(cohort_id=cohort))
    learner = world.learner
    for user in (world.mentor, learner.user):
        client = client_for(user)
        for path in (
            "snapshot/",
            "learners/",
            "learners/?overdue=true",
            "learners/?search=a",
            "learners/?milestone=python&status=completed",
            f"learners/{learner.pk}/timeline/",
            f"progress/{learner.pk}/python/history/",
            "export.csv",
        ):
            response = client.get(f"/api/cohorts/{cohort}/{path}")
            assert response.status_code in (200, 403, 404), (path, response.status_code)
            if response.streaming:  # the CSV's rows are read as it streams
                b"".join(response.streaming_content)
        assert GraphQLClient(user).run(COHORT, {"id": cohort})["data"]["cohort"]
    token = caching.cohort_cache_version(cohort)
    held = caching._near.get(f"snapshot:{cohort}:{token}")
    assert held is not None
    assert held == expected
