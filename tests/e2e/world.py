"""Data the browser tests need beyond the demo seed, written through the services.

Run inside the server's environment with ``manage.py shell -c``, e.g.
``from tests.e2e.world import prepare; prepare()``: the browser tests' fixture does it
before the server starts, and ``write_while_down`` while the server is stopped.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from dashboard.models import Cohort, Event, Membership, Progress
from dashboard.services.cohorts import learner_add, mentor_add
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add

# Markup that would run if any of it reached the page as HTML.
HOSTILE_FIRST = '<img src=x onerror="window.__pwned=1">'
HOSTILE_LAST = "<script>window.__pwned=2</script>"
HOSTILE_COMMENT = '<script>window.__pwned=3</script><img src=x onerror="window.__pwned=4">'
BIG_COHORT = "Big cohort (400 learners)"
BIG_SIZE = 400


def prepare() -> None:
    """Add a learner with a hostile name to cohort 1, a hostile comment, a 400-learner cohort."""
    mentor = User.objects.get(username="mentor")
    cohort = Cohort.objects.get(memberships__user=mentor, memberships__role="mentor")
    hostile = User.objects.create_user(
        "hostile", password="hostile", first_name=HOSTILE_FIRST, last_name=HOSTILE_LAST
    )
    learner_add(actor=mentor, cohort=cohort, user=hostile)
    newest = Event.objects.filter(cohort=cohort).order_by("-seq").first()
    assert newest is not None
    comment_add(actor=mentor, cohort_id=cohort.pk, seq=newest.seq, text=HOSTILE_COMMENT)

    start = timezone.localdate() - timedelta(weeks=5)
    big = Cohort.objects.create(
        program=cohort.program,
        name=BIG_COHORT,
        start_date=start,
        end_date=start + timedelta(weeks=16),
    )
    mentor_add(cohort=big, user=User.objects.get(username="mentor2"))
    password = User.objects.get(username="learner").password  # one hash for all: fast
    users = User.objects.bulk_create(
        User(username=f"big{i:03d}", first_name=f"Learner {i:03d}", password=password)
        for i in range(BIG_SIZE)
    )
    for user in users:
        learner_add(actor=None, cohort=big, user=user)


def write_while_down(count: int) -> None:
    """Complete ``count`` of the demo learner's cells as the mentor, with no server running.

    Print the changed milestone slugs as JSON for the test to look for.
    """
    mentor = User.objects.get(username="mentor")
    learner = Membership.objects.get(user__username="learner", role="learner")
    cells = Progress.objects.filter(learner=learner).select_related("milestone")
    cells = cells.exclude(status=Progress.Status.COMPLETED).order_by("milestone__order")
    slugs = []
    for cell in cells[:count]:
        slugs.append(cell.milestone.slug)
        progress_update(
            actor=mentor,
            cohort_id=learner.cohort_id,
            learner_id=learner.pk,
            milestone_slug=cell.milestone.slug,
            version=cell.version,
            status=Progress.Status.COMPLETED,
            score=71,
        )
    print(json.dumps({"learner": learner.pk, "slugs": slugs}))


def churn_while_down(count: int) -> None:
    """Flip one cell of the late learner ``count`` times as the mentor, with no server.

    More than the 1,000 events a resubscribe replays: the page must reload its snapshot.
    Print the cell and its final status as JSON.
    """
    mentor = User.objects.get(username="mentor")
    learner = Membership.objects.get(user__username="hostile", role="learner")
    cell = (
        Progress.objects.filter(learner=learner)
        .select_related("milestone")
        .order_by("-milestone__order")
        .first()
    )
    assert cell is not None
    version = cell.version
    status = cell.status
    for _ in range(count):
        status = (
            Progress.Status.SUBMITTED
            if status == Progress.Status.IN_PROGRESS
            else Progress.Status.IN_PROGRESS
        )
        change = progress_update(
            actor=mentor,
            cohort_id=learner.cohort_id,
            learner_id=learner.pk,
            milestone_slug=cell.milestone.slug,
            version=version,
            status=status,
        )
        version = change.progress.version
    print(json.dumps({"learner": learner.pk, "slug": cell.milestone.slug, "status": status}))
