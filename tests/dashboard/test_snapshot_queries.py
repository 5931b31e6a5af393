"""The snapshot is the initial load: a fixed number of queries whatever the cohort size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.selectors.cohorts import cohort_snapshot
from tests.factories import make_cohort


def _snapshot_queries(learners: int) -> int:
    world = make_cohort(learners=learners)
    with CaptureQueriesContext(connection) as ctx:
        snapshot = cohort_snapshot(cohort_id=world.cohort.pk)
    assert len(snapshot["learners"]) == learners
    return len(ctx.captured_queries)


@pytest.mark.parametrize("learners", [40, 400])
def test_snapshot_query_count_is_pinned(db, django_assert_num_queries, learners):
    world = make_cohort(learners=learners)
    with django_assert_num_queries(5):
        snapshot = cohort_snapshot(cohort_id=world.cohort.pk)
    assert len(snapshot["learners"]) == learners
    assert all(len(row["progress"]) == 3 for row in snapshot["learners"])


def test_snapshot_queries_do_not_grow_with_the_cohort(db):
    assert _snapshot_queries(40) == _snapshot_queries(400)


def test_snapshot_over_http_costs_the_same_at_40_and_400(db, client_for):
    counts = []
    for learners in (40, 400):
        world = make_cohort(learners=learners)
        client = client_for(world.mentor)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/cohorts/{world.cohort.pk}/snapshot/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
