"""The periodic jobs: at-risk transitions, the daily digest, the presence sweep, in both modes
(called directly, through Celery's eager mode, and in the in-process loop)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from dashboard import background, clock, jobs, tasks
from dashboard.celery import app as celery_app
from dashboard.celery import beat_schedule
from dashboard.models import Event, Progress
from dashboard.services.progress import progress_update
from realtime import presence

AT_RISK = Event.Kind.LEARNER_AT_RISK
ON_TRACK = Event.Kind.LEARNER_ON_TRACK
DIGEST = Event.Kind.REPORT_DAILY


def kinds(cohort, *wanted):
    return list(
        Event.objects.filter(cohort=cohort, kind__in=wanted)
        .order_by("seq")
        .values_list("kind", "data")
    )


def complete(world, learner, slug, *, score=90):
    cell = Progress.objects.get(learner=learner, milestone__slug=slug)
    return progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=learner.pk,
        milestone_slug=slug,
        version=cell.version,
        status=Progress.Status.COMPLETED,
        score=score,
    )


@pytest.fixture
def eager():
    """Run Celery tasks in the calling process, as ``task_always_eager`` does in tests."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


# --------------------------------------------------------------------------------------
# At risk
# --------------------------------------------------------------------------------------


def test_at_risk_recompute_announces_each_learner_at_risk_once(world):
    # Three weeks in, the Python (week 1) and Django (week 2) milestones are overdue.
    assert jobs.at_risk_recompute() == 3
    events = kinds(world.cohort, AT_RISK)
    assert [data["learner"]["id"] for _, data in events] == [m.pk for m in world.learners]
    assert events[0][1]["learner"]["name"] == "Learner 0"
    assert any("Python was due" in reason for reason in events[0][1]["reasons"])

    assert jobs.at_risk_recompute() == 0
    assert len(kinds(world.cohort, AT_RISK)) == 3


def test_learner_on_track_is_never_announced(world):
    for learner in world.learners:
        complete(world, learner, "python")
        complete(world, learner, "django")
    assert jobs.at_risk_recompute() == 0
    assert kinds(world.cohort, AT_RISK, ON_TRACK) == []


def test_recovery_appends_on_track_and_a_relapse_at_risk_again(world):
    jobs.at_risk_recompute()
    learner = world.learner
    complete(world, learner, "python")
    complete(world, learner, "django")

    assert jobs.at_risk_recompute() == 1
    assert kinds(world.cohort, ON_TRACK) == [
        (ON_TRACK, {"learner": {"id": learner.pk, "name": "Learner 0"}})
    ]
    assert jobs.at_risk_recompute() == 0

    # Ten days without progress: at risk again, announced once more.
    with clock.travel(timezone.now() + timedelta(days=10)):
        assert jobs.at_risk_recompute() == 1
        assert jobs.at_risk_recompute() == 0
    marks = [data["learner"]["id"] for _, data in kinds(world.cohort, AT_RISK)]
    assert marks.count(learner.pk) == 2
    assert "no progress for 10 days" in kinds(world.cohort, AT_RISK)[-1][1]["reasons"]


def test_at_risk_events_use_the_feed_path_and_are_broadcast_after_commit(
    world, django_capture_on_commit_callbacks
):
    head = world.cohort.events.count()
    with django_capture_on_commit_callbacks() as callbacks:
        jobs.at_risk_recompute()
    world.cohort.refresh_from_db()
    assert world.cohort.head_seq == head + 3
    assert list(
        Event.objects.filter(cohort=world.cohort, kind=AT_RISK).values_list("seq", flat=True)
    ) == [head + 1, head + 2, head + 3]
    broadcasts = [cb for cb in callbacks if "broadcast_on_commit" in cb.__qualname__]
    assert len(broadcasts) == 3


def test_ended_cohorts_are_left_alone(world):
    world.cohort.start_date = timezone.localdate() - timedelta(weeks=20)
    world.cohort.end_date = timezone.localdate() - timedelta(weeks=4)
    world.cohort.save()
    assert jobs.at_risk_recompute() == 0
    assert jobs.daily_digest() == 0


# --------------------------------------------------------------------------------------
# Daily digest
# --------------------------------------------------------------------------------------


def test_daily_digest_reports_the_days_completions_and_newly_at_risk(world):
    yesterday = timezone.localdate() - timedelta(days=1)
    noon = timezone.make_aware(datetime.combine(yesterday, datetime.min.time())) + timedelta(
        hours=12
    )
    first, second, third = world.learners
    with clock.travel(noon):
        complete(world, first, "python", score=80)
        complete(world, first, "django", score=95)
        jobs.at_risk_recompute()  # second and third are overdue
    complete(world, second, "python")  # today: not in yesterday's digest

    assert jobs.daily_digest() == 1
    [(_, data)] = kinds(world.cohort, DIGEST)
    assert data["date"] == yesterday.isoformat()
    assert data["completions"] == 2
    assert [(c["learner"]["id"], c["milestone"], c["score"]) for c in data["completed"]] == [
        (first.pk, "python", 80),
        (first.pk, "django", 95),
    ]
    assert data["newly_at_risk_count"] == 2
    assert [r["learner"]["id"] for r in data["newly_at_risk"]] == [second.pk, third.pk]
    assert data["learners"] == 3
    assert data["at_risk"] == 2
    assert data["on_track"] == 1
    assert data["completion"] == round(3 / 9, 4)


def test_daily_digest_is_written_once_per_day(world):
    assert jobs.daily_digest() == 1
    assert jobs.daily_digest() == 0
    day_before = timezone.localdate() - timedelta(days=2)
    assert jobs.daily_digest(day=day_before) == 1
    dates = [data["date"] for _, data in kinds(world.cohort, DIGEST)]
    assert sorted(dates) == [
        day_before.isoformat(),
        (timezone.localdate() - timedelta(days=1)).isoformat(),
    ]


def test_a_quiet_day_still_gets_a_digest_with_zero_counts(world):
    jobs.daily_digest()
    [(_, data)] = kinds(world.cohort, DIGEST)
    assert data["completions"] == 0
    assert data["completed"] == []
    assert data["newly_at_risk"] == []


def test_digest_and_at_risk_events_are_served_in_the_feed(world, client_for):
    jobs.at_risk_recompute()
    jobs.daily_digest()
    response = client_for(world.mentor).get(f"/api/cohorts/{world.cohort.pk}/events/?after=0")
    assert response.status_code == 200
    feed_kinds = [event["kind"] for event in response.json()["results"]]
    assert feed_kinds.count("learner.at_risk") == 3
    assert feed_kinds[-1] == "report.daily"
    assert response.json()["results"][-1]["actor"] is None


# --------------------------------------------------------------------------------------
# Presence sweep
# --------------------------------------------------------------------------------------


def test_presence_sweep_calls_the_realtime_sweep(monkeypatch):
    calls = []
    monkeypatch.setattr(presence, "presence_sweep", lambda: calls.append(1) or 2, raising=False)
    assert jobs.presence_sweep() == 2
    assert calls == [1]


def test_presence_sweep_awaits_an_async_sweep(monkeypatch):
    async def sweep():
        return 4

    monkeypatch.setattr(presence, "presence_sweep", sweep, raising=False)
    assert jobs.presence_sweep() == 4


def test_presence_sweep_job_drops_the_viewers_of_a_dead_process(settings, redis_url, eager):
    """The real sweep of realtime.presence, on Redis: a process that died without goodbye."""
    from realtime.presence import RedisPresence, presence_snapshot

    settings.PRESENCE_REDIS_URL = f"{redis_url}/0"
    settings.PRESENCE_TTL = 0.3
    dead = RedisPresence(
        settings.PRESENCE_REDIS_URL, prefix=settings.PRESENCE_PREFIX, process="dead-process"
    )
    entry = {"user": {"id": 7, "name": "Gone"}, "role": "learner", "since": "2026-11-26T09:00Z"}
    asyncio.run(dead.join(42, entry))
    assert [e["user"]["id"] for e in presence_snapshot(42)] == [7]
    time.sleep(0.5)  # the dead process's heartbeats stop; its entry expires

    assert tasks.presence_sweep.delay().get() == 1
    assert presence_snapshot(42) == []
    assert jobs.presence_sweep() == 0


def test_presence_sweep_in_memory_is_a_no_op(settings):
    settings.PRESENCE_REDIS_URL = ""
    assert jobs.presence_sweep() == 0


def test_presence_sweep_without_a_realtime_sweep_does_nothing(monkeypatch):
    monkeypatch.delattr(presence, "presence_sweep", raising=False)
    assert jobs.presence_sweep() is None


# --------------------------------------------------------------------------------------
# Celery (eager mode) and the beat schedule
# --------------------------------------------------------------------------------------


def test_tasks_run_the_jobs_in_celery_eager_mode(world, eager):
    assert tasks.at_risk_recompute.delay().get() == 3
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert tasks.daily_digest.delay(day=yesterday).get() == 1
    assert tasks.daily_digest.delay().get() == 0
    assert len(kinds(world.cohort, AT_RISK)) == 3
    assert len(kinds(world.cohort, DIGEST)) == 1


def test_a_tasks_log_lines_carry_its_task_id(world, eager, caplog):
    from dashboard.logging import RequestIdFilter, current_request_id

    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="dashboard.jobs"):
        result = tasks.at_risk_recompute.delay()
    [record] = [r for r in caplog.records if r.name == "dashboard.jobs"]
    assert record.getMessage() == "at_risk_recompute: 3 transition(s)"
    assert record.request_id == f"task-{result.id}"
    assert current_request_id() == "-"


def test_presence_sweep_task_in_eager_mode(eager, monkeypatch):
    monkeypatch.setattr(presence, "presence_sweep", lambda: 1, raising=False)
    assert tasks.presence_sweep.delay().get() == 1


def test_beat_schedules_every_job_on_a_registered_task(settings):
    settings.PERIODIC_INTERVAL = 15
    schedule = beat_schedule()
    assert {entry["task"] for entry in schedule.values()} == {
        "dashboard.presence_sweep",
        "dashboard.at_risk_recompute",
        "dashboard.daily_digest",
        "dashboard.alert_emails",
    }
    assert schedule["at-risk-recompute"]["schedule"] == 15.0
    assert schedule["presence-sweep"]["schedule"] == 15.0
    for entry in schedule.values():
        assert entry["task"] in celery_app.tasks


def test_celery_broker_falls_back_to_memory_without_redis():
    from django.conf import settings

    if settings.REDIS_URL:
        assert settings.CELERY_BROKER_URL.startswith("redis://")
    else:
        assert settings.CELERY_BROKER_URL == "memory://"


# --------------------------------------------------------------------------------------
# In-process mode (the embedded default)
# --------------------------------------------------------------------------------------


def test_one_failing_job_does_not_stop_the_others(world, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(jobs.JOBS, "presence_sweep", broken)
    results = jobs.run_jobs_once()
    assert results == {
        "presence_sweep": None,
        "at_risk_recompute": 3,
        "daily_digest": 1,
        "alert_emails": 0,  # the mentor has no email address
    }


@pytest.mark.django_db(transaction=True)
def test_in_process_loop_runs_the_jobs_on_an_interval_until_stopped():
    from tests.factories import make_cohort

    world = make_cohort(learners=2)
    stop = threading.Event()
    thread = threading.Thread(
        target=jobs.run_periodic_jobs, kwargs={"interval": 0.05, "stop": stop}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(kinds(world.cohort, AT_RISK, DIGEST)) < 3:
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert [kind for kind, _ in kinds(world.cohort, AT_RISK, DIGEST)].count(AT_RISK) == 2
    assert [kind for kind, _ in kinds(world.cohort, AT_RISK, DIGEST)].count(DIGEST) == 1


def test_the_embedded_default_registers_the_in_process_jobs(settings):
    settings.PERIODIC_JOBS = "inprocess"
    settings.SIMULATE = False
    names = [helper.name for helper in background.in_process_helpers()]
    assert names.count("periodic-jobs") == 1


@pytest.mark.parametrize("mode", ["celery", "off"])
def test_no_in_process_jobs_when_celery_runs_them(settings, mode):
    settings.PERIODIC_JOBS = mode
    settings.SIMULATE = False
    assert "periodic-jobs" not in [helper.name for helper in background.in_process_helpers()]
