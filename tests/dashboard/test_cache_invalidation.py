"""The REST layer's own caching: a write is visible in the snapshot and the cohort list at
once, on local memory and on Redis, and what depends on the clock is never cached."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import Progress
from dashboard.selectors import caching
from dashboard.selectors.cohorts import _snapshot_bundle, cohort_snapshot
from dashboard.services.cohorts import learner_add
from dashboard.services.progress import progress_update
from tests.factories import make_cohort, make_user

pytest_plugins = ["tests.dashboard.cache_fixtures"]


def snapshot_of(client, world) -> dict:
    response = client.get(f"/api/cohorts/{world.cohort.pk}/snapshot/")
    assert response.status_code == 200
    return response.json()


def python_cell(snapshot: dict, learner) -> dict:
    row = next(r for r in snapshot["learners"] if r["id"] == learner.pk)
    return row["progress"]["python"]


def test_a_write_shows_in_the_snapshot_at_once(cache_kind, world, client_for):
    client = client_for(world.mentor)
    first = snapshot_of(client, world)
    assert snapshot_of(client, world)["seq"] == first["seq"]  # served from the cache
    assert python_cell(first, world.learner)["status"] == "not_started"

    response = client.patch(
        f"/api/cohorts/{world.cohort.pk}/progress/{world.learner.pk}/python/",
        {"status": "completed", "score": 90, "version": 1},
        format="json",
    )
    assert response.status_code == 200

    after = snapshot_of(client, world)
    assert python_cell(after, world.learner)["status"] == "completed"
    assert after["seq"] == response.json()["seq"] == first["seq"] + 1
    assert after["feed"][0]["seq"] == after["seq"]
    assert after["stats"]["by_milestone"]["python"]["completed"] == 1


def test_the_second_snapshot_is_a_cache_hit_without_snapshot_queries(cache_kind, world):
    cold = cohort_snapshot(cohort_id=world.cohort.pk)
    with CaptureQueriesContext(connection) as ctx:
        warm = cohort_snapshot(cohort_id=world.cohort.pk)
    assert len(ctx.captured_queries) == 0
    for field in ("cohort", "milestones", "learners", "stats", "feed", "seq"):
        assert warm[field] == cold[field]


def test_the_bump_after_commit_orphans_a_bundle_cached_while_the_write_ran(
    cache_kind, world, django_capture_on_commit_callbacks
):
    """A reader that read the database before the commit cannot poison the cache."""
    cohort_id = world.cohort.pk
    stale = _snapshot_bundle(cohort_id=cohort_id)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        progress_update(
            actor=world.mentor,
            cohort_id=cohort_id,
            learner_id=world.learner.pk,
            milestone_slug="python",
            version=1,
            status="in_progress",
        )
        # A concurrent reader took the token now current, but read the rows before the
        # write committed, and stores them.
        token = caching.cohort_cache_version(cohort_id)
        cache.set(f"snapshot:{cohort_id}:{token}", stale, timeout=60)
        assert cohort_snapshot(cohort_id=cohort_id)["seq"] == stale["seq"]
    for callback in callbacks:  # the commit
        callback()
    fresh = cohort_snapshot(cohort_id=cohort_id)
    assert fresh["seq"] == stale["seq"] + 1
    assert python_cell(fresh, world.learner)["status"] == "in_progress"


def test_a_write_inside_a_transaction_is_seen_by_a_read_in_that_transaction(cache_kind, world):
    cohort_snapshot(cohort_id=world.cohort.pk)  # cached
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=world.learner.pk,
        milestone_slug="python",
        version=1,
        status="in_progress",
    )
    # The test's transaction never commits: the bump made inside the write does the work.
    assert python_cell(cohort_snapshot(cohort_id=world.cohort.pk), world.learner)["version"] == 2


def test_presence_and_the_clock_are_fresh_on_every_hit(cache_kind, world, monkeypatch):
    from dashboard.selectors import cohorts

    first = cohorts.cohort_snapshot(cohort_id=world.cohort.pk)
    viewer = {"user": {"id": 1, "name": "Someone"}, "role": "mentor", "since": "x"}
    monkeypatch.setattr(cohorts, "presence_snapshot", lambda cohort_id: [viewer])
    second = cohorts.cohort_snapshot(cohort_id=world.cohort.pk)
    assert first["presence"] == [] and second["presence"] == [viewer]
    assert second["generated_at"] >= first["generated_at"]


def test_at_risk_is_computed_per_request_from_the_cached_rows(cache_kind, db, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from dashboard.selectors import cohorts

    world = make_cohort(learners=3, weeks_in=0)  # nothing due yet: nobody at risk
    before = cohorts.cohort_snapshot(cohort_id=world.cohort.pk)
    real_now = timezone.now()
    monkeypatch.setattr(cohorts.timezone, "now", lambda: real_now + timedelta(weeks=20))
    later = cohorts.cohort_snapshot(cohort_id=world.cohort.pk)  # the same cached bundle
    assert later["seq"] == before["seq"]
    assert later["stats"]["at_risk"] == len(later["learners"])
    assert all(row["at_risk"] and row["risk_reasons"] for row in later["learners"])
    assert before["stats"]["at_risk"] == 0


def test_the_cohort_list_counts_follow_every_write(cache_kind, world, client_for):
    client = client_for(world.mentor)
    row = client.get("/api/cohorts/").json()[0]
    assert (row["learner_count"], row["completion"]) == (3, 0.0)
    assert client.get("/api/cohorts/").json()[0] == row  # from the cache

    learner_add(actor=world.mentor, cohort=world.cohort, user=make_user(name="New One"))
    assert client.get("/api/cohorts/").json()[0]["learner_count"] == 4

    cell = Progress.objects.get(learner=world.learner, milestone__slug="python")
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=world.learner.pk,
        milestone_slug="python",
        version=cell.version,
        status="completed",
        score=80,
    )
    assert client.get("/api/cohorts/").json()[0]["completion"] == round(1 / 12, 4)


def test_cohort_lists_share_per_cohort_entries(
    cache_kind, world, other_world, staff, client_for, monkeypatch
):
    from dashboard.selectors import cohorts

    client_for(world.mentor).get("/api/cohorts/")  # caches the first cohort's counts
    computed: list[list[int]] = []
    real = cohorts._cohort_counts
    monkeypatch.setattr(cohorts, "_cohort_counts", lambda ids: computed.append(ids) or real(ids))
    rows = client_for(staff).get("/api/cohorts/").json()
    assert {r["id"]: r["learner_count"] for r in rows} == {
        world.cohort.pk: 3,
        other_world.cohort.pk: 2,
    }
    assert computed == [[other_world.cohort.pk]]


def test_a_lost_version_token_never_resurrects_old_entries(cache_kind, world):
    cohort_id = world.cohort.pk
    cohort_snapshot(cohort_id=cohort_id)
    old_token = caching.cohort_cache_version(cohort_id)
    cache.delete(f"version:cohort:{cohort_id}")  # evicted
    assert caching.cohort_cache_version(cohort_id) != old_token


def test_committed_writes_show_in_the_snapshot_at_once(cache_kind, transactional_db, client_for):
    """The same with real commits: the after-commit bump, not only the in-transaction one."""
    world = make_cohort(learners=2)
    client = client_for(world.mentor)
    seqs = [snapshot_of(client, world)["seq"]]
    for version, status in enumerate(["in_progress", "submitted", "completed"], start=1):
        response = client.patch(
            f"/api/cohorts/{world.cohort.pk}/progress/{world.learner.pk}/python/",
            {"status": status, "version": version, **({"score": 70} if version == 3 else {})},
            format="json",
        )
        assert response.status_code == 200
        snapshot = snapshot_of(client, world)
        assert python_cell(snapshot, world.learner)["status"] == status
        assert snapshot["seq"] == response.json()["seq"]
        seqs.append(snapshot["seq"])
    assert seqs == list(range(seqs[0], seqs[0] + 4))
