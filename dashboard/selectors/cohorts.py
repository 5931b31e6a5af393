"""Reads of cohorts: the list, the snapshot, the event log, the caller's memberships."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from dashboard.formats import cohort_dict, iso_ms, progress_cell
from dashboard.models import Cohort, Event, Membership, Milestone, Progress
from dashboard.selectors.caching import STATS_TTL, cached_per_cohort, cohort_snapshot_cached
from dashboard.selectors.privacy import Viewer, event_for, learner_row_for
from dashboard.selectors.stats import MilestoneDue, cohort_stats, learner_risk
from realtime.presence import presence_snapshot
from realtime.protocol import EventPayload, event_payload

FEED_SIZE = 50
EVENTS_PAGE_MAX = 500


def cohorts_visible(*, user: User) -> QuerySet[Cohort]:
    """Return the cohorts ``user`` may see: all for staff, else those they belong to."""
    cohorts = Cohort.objects.select_related("program").order_by("id")
    if getattr(user, "is_staff", False):
        return cohorts
    # A subquery, not a join: a join on memberships would also narrow later annotations.
    return cohorts.filter(pk__in=Membership.objects.filter(user=user).values("cohort_id"))


def cohort_list(*, user: User) -> list[dict[str, Any]]:
    """Return the cohort list of api.md with learner count and completion.

    One query for the cohorts; their counts come from the cache ("stats", per cohort
    version), two more queries for the cohorts missing from it.
    """
    cohorts = list(cohorts_visible(user=user))
    counts = cached_per_cohort("stats", [c.pk for c in cohorts], _cohort_counts, timeout=STATS_TTL)
    result = []
    for cohort in cohorts:
        row = counts[cohort.pk]
        result.append(
            {
                **cohort_dict(cohort),
                "learner_count": row["learner_count"],
                "completion": round(row["completed"] / row["total"], 4) if row["total"] else 0.0,
            }
        )
    return result


def _cohort_counts(cohort_ids: list[int]) -> dict[int, dict[str, int]]:
    """Return each cohort's learner count and its total and completed cells (2 queries)."""
    learners = dict(
        Membership.objects.filter(cohort_id__in=cohort_ids, role=Membership.Role.LEARNER)
        .values("cohort_id")
        .annotate(n=Count("id"))
        .values_list("cohort_id", "n")
    )
    counts = {
        i: {"learner_count": learners.get(i, 0), "total": 0, "completed": 0} for i in cohort_ids
    }
    for row in (
        Progress.objects.filter(cohort_id__in=cohort_ids)
        .values("cohort_id")
        .annotate(
            total=Count("id"), completed=Count("id", filter=Q(status=Progress.Status.COMPLETED))
        )
    ):
        counts[row["cohort_id"]].update(total=row["total"], completed=row["completed"])
    return counts


@contextmanager
def consistent_read() -> Iterator[None]:
    """Run the enclosed reads against one snapshot of the database.

    PostgreSQL gets a REPEATABLE READ transaction; SQLite's transaction (IMMEDIATE in these
    settings) already reads one state. Inside an existing transaction (tests) it adds nothing.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def cohort_snapshot(
    *, cohort_id: int, viewer: Viewer | None = None, bundle: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the dashboard's initial load: a fixed number of queries whatever the size.

    ``seq`` is read in the same database snapshot as the rows, so subscribing with
    ``since=seq`` replays exactly the events the snapshot does not yet reflect. The
    database part is one bundle cached per cohort version (``selectors/caching.py``);
    what depends on the clock (at-risk, on track) and ``presence`` are computed per call.

    ``viewer`` redacts the learners and the feed as that viewer may see them
    (``selectors/privacy.py``); the cached bundle is the same for everyone. None gives
    everything, for callers inside the server (jobs, tests). ``bundle``: the one the
    caller already read (GraphQL reads one per operation), else it is read here.
    """
    if bundle is None:
        bundle = snapshot_bundle(cohort_id=cohort_id)
    now = timezone.now()
    learner_rows = snapshot_learners(bundle, now=now)
    at_risk = sum(1 for row in learner_rows if row["at_risk"])
    feed = bundle["feed"]
    learners = learner_rows
    if viewer is not None:
        learners = [learner_row_for(row, viewer) for row in learner_rows]
        feed = [event_for(event, viewer) for event in feed]
    return {
        "cohort": bundle["cohort"],
        "milestones": bundle["milestones"],
        "learners": learners,
        "stats": cohort_stats(
            milestone_slugs=[m["slug"] for m in bundle["milestones"]],
            cells=bundle["cells"],
            learner_count=len(learner_rows),
            at_risk=at_risk,
        ),
        "feed": feed,
        "seq": bundle["seq"],
        "presence": presence_snapshot(cohort_id),
        "generated_at": iso_ms(now),
    }


def snapshot_bundle(*, cohort_id: int) -> dict[str, Any]:
    """Return the database part of the cohort's snapshot, cached per cohort version."""
    return cohort_snapshot_cached(cohort_id, lambda: _snapshot_bundle(cohort_id=cohort_id))


def snapshot_learners(bundle: dict[str, Any], *, now: datetime) -> list[dict[str, Any]]:
    """Return the bundle's learner entries with ``at_risk`` and ``risk_reasons`` as of ``now``."""
    today = timezone.localdate(now)
    rows = []
    for row in bundle["learners"]:
        reasons = learner_risk(
            cells=bundle["risk_input"].get(row["id"], {}),
            milestones=bundle["dues"],
            today=today,
            now=now,
        )
        rows.append({**row, "at_risk": bool(reasons), "risk_reasons": reasons})
    return rows


def _snapshot_bundle(*, cohort_id: int) -> dict[str, Any]:
    """Read everything of the snapshot that only a write can change, in one DB snapshot."""
    with consistent_read():
        cohort = Cohort.objects.select_related("program").get(pk=cohort_id)
        milestones = list(Milestone.objects.filter(program_id=cohort.program_id).order_by("order"))
        learners = list(
            Membership.objects.filter(cohort_id=cohort_id, role=Membership.Role.LEARNER)
            .select_related("user")
            .order_by("id")
        )
        rows = list(
            Progress.objects.filter(cohort_id=cohort_id).values_list(
                "learner_id", "milestone_id", "status", "score", "version", "updated_at"
            )
        )
        feed = list(
            Event.objects.filter(cohort_id=cohort_id)
            .select_related("actor")
            .order_by("-seq")[:FEED_SIZE]
        )

    slug_of = {m.pk: m.slug for m in milestones}
    cells: dict[int, dict[str, Any]] = defaultdict(dict)
    risk_input: dict[int, dict[str, Any]] = defaultdict(dict)
    for learner_id, milestone_id, status, score, version, updated_at in rows:
        slug = slug_of[milestone_id]
        cells[learner_id][slug] = progress_cell(
            status=status, score=score, version=version, updated_at=updated_at
        )
        risk_input[learner_id][slug] = (status, updated_at)

    return {
        "cohort": cohort_dict(cohort),
        "milestones": [
            {
                "slug": m.slug,
                "title": m.title,
                "order": m.order,
                "week": m.week,
                "due_date": cohort.due_date(m.week).isoformat(),
            }
            for m in milestones
        ],
        "learners": [
            {
                "id": learner.pk,
                "user": learner.user_id,
                "name": learner.user.get_full_name() or learner.user.username,
                "progress": cells[learner.pk],
            }
            for learner in learners
        ],
        "dues": [MilestoneDue(m.slug, m.title, cohort.due_date(m.week)) for m in milestones],
        "risk_input": dict(risk_input),
        "cells": [(slug_of[r[1]], r[2]) for r in rows],
        "feed": [event_payload(e) for e in feed],
        "seq": cohort.head_seq,
    }


def events_after(
    *, cohort_id: int, after: int, limit: int, viewer: Viewer | None = None
) -> tuple[list[EventPayload], int]:
    """Return the cohort's events with ``seq > after``, oldest first, and the head seq.

    Events come as they were published (reaction counts 0), like a WebSocket replay: the
    log's reactions follow as their own events. ``viewer`` redacts them as that viewer
    may see them (``selectors/privacy.py``); None gives them in full.

    The head is read first and the page is clipped to it, so ``head`` is never behind
    the events returned.
    """
    head = Cohort.objects.values_list("head_seq", flat=True).get(pk=cohort_id)
    events = (
        Event.objects.filter(cohort_id=cohort_id, seq__gt=after, seq__lte=head)
        .select_related("actor")
        .order_by("seq")[: min(limit, EVENTS_PAGE_MAX)]
    )
    payloads = [event_payload(e, as_published=True) for e in events]
    if viewer is not None:
        payloads = [event_for(p, viewer) for p in payloads]  # type: ignore[misc, arg-type]
    return payloads, head


def user_memberships(*, user: User) -> list[dict[str, Any]]:
    """Return the caller's memberships: cohort id, role, and learner id (null for mentors)."""
    return [
        {
            "cohort": m.cohort_id,
            "role": m.role,
            "learner": m.pk if m.role == Membership.Role.LEARNER else None,
        }
        for m in Membership.objects.filter(user=user).order_by("cohort_id")
    ]
