"""The periodic jobs' writes: at-risk transitions and the daily cohort digest.

Both append through ``event_append`` like every other write, so they reach the feed, REST
paging and WebSocket subscribers the same way. Both are idempotent: the state they compare
against is the event log itself, read under the cohort's row lock, so two schedulers (Celery
beat and a forgotten in-process loop, or several server processes of the embedded mode)
never double an event, and a restart loses nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from dashboard import clock
from dashboard.formats import display_name
from dashboard.models import Cohort, Event, Membership, Milestone, Progress
from dashboard.selectors.stats import MilestoneDue, learner_risk
from dashboard.services.events import event_append

# The digest lists at most this many completions and newly-at-risk learners (the counts
# stay exact), so one busy day cannot make a feed event arbitrarily large.
DIGEST_LIST_MAX = 100

_MARKS = (Event.Kind.LEARNER_AT_RISK, Event.Kind.LEARNER_ON_TRACK)


# --------------------------------------------------------------------------------------
# Reads under the lock
# --------------------------------------------------------------------------------------


def _learner_ref(learner: Membership) -> dict[str, Any]:
    """Return the learner as the events name one: the membership id and the person's name."""
    return {"id": learner.pk, "name": display_name(learner.user)}


def _cohort_risks(cohort: Cohort, *, now: datetime) -> list[tuple[Membership, list[str]]]:
    """Return every learner of the cohort with the reasons they are at risk (empty: on track)."""
    milestones = Milestone.objects.filter(program_id=cohort.program_id).order_by("order")
    dues = [MilestoneDue(m.slug, m.title, cohort.due_date(m.week)) for m in milestones]
    slug_of = {m.pk: m.slug for m in milestones}
    cells: dict[int, dict[str, tuple[str, datetime]]] = defaultdict(dict)
    for learner_id, milestone_id, status, updated_at in Progress.objects.filter(
        cohort_id=cohort.pk
    ).values_list("learner_id", "milestone_id", "status", "updated_at"):
        cells[learner_id][slug_of[milestone_id]] = (status, updated_at)
    learners = Membership.objects.filter(
        cohort_id=cohort.pk, role=Membership.Role.LEARNER
    ).select_related("user")
    today = timezone.localdate(now)
    return [
        (
            learner,
            learner_risk(cells=cells[learner.pk], milestones=dues, today=today, now=now),
        )
        for learner in learners.order_by("id")
    ]


def _risk_marks(cohort_id: int) -> dict[int, str]:
    """Return each learner's latest at-risk mark: the kind of their newest mark event."""
    marks: dict[int, str] = {}
    rows = (
        Event.objects.filter(cohort_id=cohort_id, kind__in=_MARKS)
        .order_by("seq")
        .values_list("kind", "data")
    )
    for kind, data in rows:
        learner_id = (data or {}).get("learner", {}).get("id")
        if isinstance(learner_id, int):
            marks[learner_id] = kind
    return marks


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


# --------------------------------------------------------------------------------------
# At risk
# --------------------------------------------------------------------------------------


def at_risk_update(*, cohort_id: int) -> list[Event]:
    """Append ``learner.at_risk`` for each learner newly at risk, ``learner.on_track`` for each
    who recovered; return the events appended (none when nothing changed).

    A learner never marked counts as on track, so the first run announces everyone at risk
    once. The marks are read under the cohort row's lock, so concurrent runs serialise and
    the second one sees the first one's events.
    """
    with transaction.atomic():
        cohort = Cohort.objects.select_for_update().get(pk=cohort_id)
        risks = _cohort_risks(cohort, now=clock.now())
        marks = _risk_marks(cohort_id)
        appended: list[Event] = []
        for learner, reasons in risks:
            was_at_risk = marks.get(learner.pk) == Event.Kind.LEARNER_AT_RISK
            if reasons and not was_at_risk:
                appended.append(
                    event_append(
                        cohort_id=cohort_id,
                        kind=Event.Kind.LEARNER_AT_RISK,
                        actor=None,
                        data={"learner": _learner_ref(learner), "reasons": reasons},
                    )
                )
            elif not reasons and was_at_risk:
                appended.append(
                    event_append(
                        cohort_id=cohort_id,
                        kind=Event.Kind.LEARNER_ON_TRACK,
                        actor=None,
                        data={"learner": _learner_ref(learner)},
                    )
                )
    return appended


# --------------------------------------------------------------------------------------
# Daily digest
# --------------------------------------------------------------------------------------


def daily_digest_append(*, cohort_id: int, day: date) -> Event | None:
    """Append the cohort's ``report.daily`` for ``day`` unless it is already in the log.

    Completions are the day's ``progress.updated`` events to ``completed`` (one per learner
    and milestone), newly at risk the day's ``learner.at_risk`` events; ``at_risk``,
    ``on_track`` and ``completion`` are the cohort's state when the digest is written.
    Return the event, or None when the day already has its digest.
    """
    start, end = _day_bounds(day)
    with transaction.atomic():
        cohort = Cohort.objects.select_for_update().get(pk=cohort_id)
        already = Event.objects.filter(
            cohort_id=cohort_id, kind=Event.Kind.REPORT_DAILY, data__date=day.isoformat()
        ).exists()
        if already:
            return None
        of_day = Event.objects.filter(
            cohort_id=cohort_id, created_at__gte=start, created_at__lt=end
        ).order_by("seq")
        completed: dict[tuple[int, str], dict[str, Any]] = {}
        for data in of_day.filter(
            kind=Event.Kind.PROGRESS_UPDATED, data__status=Progress.Status.COMPLETED
        ).values_list("data", flat=True):
            key = (data["learner"]["id"], data["milestone"])
            completed.pop(key, None)  # a re-completion counts once, at its latest place
            completed[key] = {
                "learner": data["learner"],
                "milestone": data["milestone"],
                "score": data.get("score"),
            }
        newly_at_risk = [
            {"learner": data["learner"], "reasons": data.get("reasons", [])}
            for data in of_day.filter(kind=Event.Kind.LEARNER_AT_RISK).values_list(
                "data", flat=True
            )
        ]
        risks = _cohort_risks(cohort, now=clock.now())
        at_risk = sum(1 for _, reasons in risks if reasons)
        totals = Progress.objects.filter(cohort_id=cohort_id).aggregate(
            total=Count("id"), done=Count("id", filter=Q(status=Progress.Status.COMPLETED))
        )
        total, done = totals["total"], totals["done"]
        return event_append(
            cohort_id=cohort_id,
            kind=Event.Kind.REPORT_DAILY,
            actor=None,
            data={
                "date": day.isoformat(),
                "completions": len(completed),
                "completed": list(completed.values())[:DIGEST_LIST_MAX],
                "newly_at_risk_count": len(newly_at_risk),
                "newly_at_risk": newly_at_risk[:DIGEST_LIST_MAX],
                "learners": len(risks),
                "at_risk": at_risk,
                "on_track": len(risks) - at_risk,
                "completion": round(done / total, 4) if total else 0.0,
            },
        )
