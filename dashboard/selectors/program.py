"""The staff's program view: every cohort side by side, and the milestones that run late.

Five queries whatever the number of cohorts, learners and events: the cohorts, their
milestones, their learners, their cells, and the log's progress changes (only the
columns the weekly replay needs).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any

from django.utils import timezone

from dashboard.models import Cohort, Event, Membership, Milestone, Progress
from dashboard.selectors.stats import DONE, MilestoneDue, learner_risk

SLOWEST_MAX = 5


def program_week(cohort: Cohort, today: date) -> int:
    """Return the cohort's current program week: 0 before it starts, capped at its last."""
    if today < cohort.start_date:
        return 0
    weeks = math.ceil(((cohort.end_date - cohort.start_date).days + 1) / 7)
    return min((today - cohort.start_date).days // 7 + 1, weeks)


def program_overview() -> dict[str, Any]:
    """Return ``{"cohorts": [...], "slowest_milestones": [...]}`` (api.md, v1.1).

    ``completion_by_week[i]`` is the cohort's completion at the end of program week
    ``i + 1``, replayed from the log, for each week that has ended. ``slowest_milestones``
    are the milestones whose cells, once due, were submitted or completed the most days
    late (the median over every cohort; a cell still open counts the days so far).
    """
    now = timezone.now()
    today = timezone.localdate(now)
    cohorts = list(Cohort.objects.order_by("id"))
    milestones: dict[int, list[Milestone]] = defaultdict(list)
    for m in Milestone.objects.filter(program_id__in={c.program_id for c in cohorts}).order_by(
        "program_id", "order"
    ):
        milestones[m.program_id].append(m)
    learners: dict[int, list[int]] = defaultdict(list)
    for cohort_id, learner_id in Membership.objects.filter(
        cohort__in=cohorts, role=Membership.Role.LEARNER
    ).values_list("cohort_id", "id"):
        learners[cohort_id].append(learner_id)
    cells: dict[int, list[tuple]] = defaultdict(list)
    for row in Progress.objects.filter(cohort__in=cohorts).values_list(
        "cohort_id", "learner_id", "milestone_id", "status", "updated_at", "completed_at"
    ):
        cells[row[0]].append(row[1:])
    changes: dict[int, list[tuple]] = defaultdict(list)
    for change in (
        Event.objects.filter(cohort__in=cohorts, kind=Event.Kind.PROGRESS_UPDATED)
        .order_by("cohort_id", "seq")
        .values_list("cohort_id", "learner_id", "data__milestone", "data__status", "created_at")
    ):
        changes[change[0]].append(change[1:])

    lateness: dict[int, list[int]] = defaultdict(list)
    rows = []
    for cohort in cohorts:
        program_milestones = milestones[cohort.program_id]
        rows.append(
            _cohort_row(
                cohort,
                program_milestones,
                learners[cohort.pk],
                cells[cohort.pk],
                changes[cohort.pk],
                now=now,
            )
        )
        _add_lateness(lateness, cohort, program_milestones, cells[cohort.pk], today=today)
    by_id = {m.pk: m for ms in milestones.values() for m in ms}
    slowest = sorted(
        ((median(days), by_id[pk]) for pk, days in lateness.items()),
        key=lambda item: (-item[0], item[1].program_id, item[1].order),
    )[:SLOWEST_MAX]
    return {
        "cohorts": rows,
        "slowest_milestones": [
            {"slug": m.slug, "title": m.title, "median_days_late": float(days)}
            for days, m in slowest
        ],
    }


def _cohort_row(
    cohort: Cohort,
    milestones: list[Milestone],
    learner_ids: list[int],
    cells: list[tuple],
    changes: list[tuple],
    *,
    now: datetime,
) -> dict[str, Any]:
    today = timezone.localdate(now)
    slug_of = {m.pk: m.slug for m in milestones}
    total = len(learner_ids) * len(milestones)
    completed = sum(1 for cell in cells if cell[2] == Progress.Status.COMPLETED)
    dues = [MilestoneDue(m.slug, m.title, cohort.due_date(m.week)) for m in milestones]
    risk_input: dict[int, dict[str, tuple[str, datetime]]] = defaultdict(dict)
    for learner_id, milestone_id, status, updated_at, _ in cells:
        risk_input[learner_id][slug_of[milestone_id]] = (status, updated_at)
    at_risk = sum(
        1
        for learner_id in learner_ids
        if learner_risk(cells=risk_input[learner_id], milestones=dues, today=today, now=now)
    )
    week = program_week(cohort, today)
    due = sum(1 for d in dues if d.due < today)
    return {
        "id": cohort.pk,
        "name": cohort.name,
        "week": week,
        "completion": round(completed / total, 4) if total else 0.0,
        "expected_completion": round(due / len(dues), 4) if dues else 0.0,
        "on_track": len(learner_ids) - at_risk,
        "at_risk": at_risk,
        "completion_by_week": _completion_by_week(cohort, changes, total, today=today),
    }


def _completion_by_week(
    cohort: Cohort, changes: list[tuple], total: int, *, today: date
) -> list[float]:
    """Replay the log's progress changes; return the completion at the end of each week
    that has ended (week ``w`` ends at the start of day ``start + 7w``)."""
    ended = program_week(cohort, today) - (1 if cohort.end_date >= today else 0)
    if not total or ended <= 0:
        return [0.0] * max(ended, 0)
    tz = timezone.get_current_timezone()
    ends = [
        datetime.combine(cohort.start_date + timedelta(days=7 * w), time.min, tzinfo=tz)
        for w in range(1, ended + 1)
    ]
    status: dict[tuple[int, str], str] = {}
    completed = 0
    result: list[float] = []
    changes_iter = iter(changes)
    pending = next(changes_iter, None)
    for end in ends:
        while pending is not None and pending[3] < end:
            learner_id, slug, new, _ = pending
            old = status.get((learner_id, slug), Progress.Status.NOT_STARTED)
            completed += (new == Progress.Status.COMPLETED) - (old == Progress.Status.COMPLETED)
            status[(learner_id, slug)] = new
            pending = next(changes_iter, None)
        result.append(round(completed / total, 4))
    return result


def _add_lateness(
    lateness: dict[int, list[int]],
    cohort: Cohort,
    milestones: list[Milestone],
    cells: list[tuple],
    *,
    today: date,
) -> None:
    """Add each due cell's days late to its milestone's list (0 when done on time)."""
    due_of = {m.pk: cohort.due_date(m.week) for m in milestones}
    for _, milestone_id, status, updated_at, completed_at in cells:
        due = due_of[milestone_id]
        if status in DONE:
            done_at = completed_at if status == Progress.Status.COMPLETED else updated_at
            done = timezone.localdate(done_at or updated_at)
        elif due < today:
            done = today
        else:
            continue  # not due yet and not done: nothing to say about it yet
        lateness[milestone_id].append(max(0, (done - due).days))
