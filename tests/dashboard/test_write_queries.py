"""The progress write is the hot path: its statements are few, fixed and written out."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.errors import VersionConflict
from dashboard.models import Event, Progress
from dashboard.services.progress import progress_update
from tests.factories import make_cohort

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in ctx.captured_queries
        if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]


def _start(world, learner, *, version: int):
    """The mentor moves the learner's python cell to in_progress, from ``version``."""
    return progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=learner.pk,
        milestone_slug="python",
        version=version,
        status="in_progress",
    )


@pytest.mark.parametrize("learners", [3, 60])
def test_a_progress_write_runs_the_same_few_statements_whatever_the_cohort(db, learners):
    world = make_cohort(learners=learners)
    learner = world.learners[-1]
    with CaptureQueriesContext(connection) as ctx:
        change = _start(world, learner, version=1)
    # The role, the locked cell, its UPDATE, the seq (UPDATE ... RETURNING), the event's
    # INSERT; PostgreSQL adds the cohort's row lock (SQLite's BEGIN IMMEDIATE is its lock).
    expected = 6 if connection.features.has_select_for_update else 5
    assert len(_statements(ctx)) == expected, _statements(ctx)
    assert change.seq == world.cohort.events.count()
    cell = Progress.objects.get(learner=learner, milestone__slug="python")
    assert (cell.status, cell.version, cell.updated_at) == (
        "in_progress",
        2,
        change.progress.updated_at,
    )
    event = Event.objects.get(cohort=world.cohort, seq=change.seq)
    assert event.data["learner"] == {"id": learner.pk, "name": learner.user.get_full_name()}
    assert event.created_at == cell.updated_at


def test_a_refused_write_reads_and_writes_nothing_more(db):
    world = make_cohort(learners=1)
    learner = world.learners[0]
    head = world.cohort.events.count()
    with CaptureQueriesContext(connection) as ctx, pytest.raises(VersionConflict):
        _start(world, learner, version=7)
    assert len(_statements(ctx)) == 2  # the role and the locked cell
    assert world.cohort.events.count() == head
    assert Progress.objects.get(learner=learner, milestone__slug="python").version == 1
