"""GET /api/program/overview/: staff compare cohorts at the same week of their program."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard import clock
from dashboard.models import Progress
from dashboard.services.progress import progress_update
from tests.factories import make_cohort

URL = "/api/program/overview/"


def _complete_on(world, learner, slug: str, day: int, monkeypatch) -> None:
    """Complete the cell as if on day ``day`` of the cohort (day 0 is the start date)."""
    at = datetime.combine(
        world.cohort.start_date + timedelta(days=day),
        time(12),
        tzinfo=timezone.get_current_timezone(),
    )
    monkeypatch.setattr(clock, "now", lambda: at)
    cell = Progress.objects.get(learner=learner, milestone__slug=slug)
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=learner.pk,
        milestone_slug=slug,
        version=cell.version,
        status="completed",
        score=75,
    )
    monkeypatch.undo()


@pytest.fixture
def program(db, monkeypatch):
    """Week 4 of a 2-learner cohort; learner 0 on time, learner 1 late on python."""
    world = make_cohort(learners=2)
    first, second = world.learners
    _complete_on(world, first, "python", 3, monkeypatch)
    _complete_on(world, first, "django", 10, monkeypatch)
    _complete_on(world, second, "python", 10, monkeypatch)
    upcoming = make_cohort(learners=1, program=world.cohort.program, weeks_in=-1)
    return world, upcoming


def test_staff_compare_cohorts_week_by_week(program, staff, client_for):
    world, upcoming = program
    body = client_for(staff).get(URL).json()
    running, future = body["cohorts"]
    assert running == {
        "id": world.cohort.pk,
        "name": world.cohort.name,
        "week": 4,
        "completion": 0.5,
        "expected_completion": round(2 / 3, 4),
        "on_track": 1,
        "at_risk": 1,
        "completion_by_week": [round(1 / 6, 4), 0.5, 0.5],
    }
    assert future["id"] == upcoming.cohort.pk
    assert (future["week"], future["completion_by_week"], future["at_risk"]) == (0, [], 0)


def test_slowest_milestones_by_median_days_late(program, staff, client_for):
    slowest = client_for(staff).get(URL).json()["slowest_milestones"]
    # django: on time (0) and still open 8 days past due; python: 0 and 4 days late.
    assert slowest == [
        {"slug": "django", "title": "Django", "median_days_late": 4.0},
        {"slug": "python", "title": "Python", "median_days_late": 2.0},
    ]


def test_the_query_count_does_not_grow_with_cohorts(program, staff, client_for):
    client = client_for(staff)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    before = len(ctx.captured_queries)
    make_cohort(learners=5)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    # The JWT's user, then cohorts, milestones, learners, cells, progress changes.
    assert len(ctx.captured_queries) == before == 6


def test_mentors_and_learners_are_forbidden(world, client_for):
    for user in (world.mentor, world.learner.user):
        response = client_for(user).get(URL)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert client_for().get(URL).status_code == 401
