"""Cohort statistics and the at-risk rule, as pure functions over loaded rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dashboard.models import Progress

STATUSES = tuple(Progress.Status.values)
INACTIVE_AFTER = timedelta(days=7)
DONE = frozenset({Progress.Status.SUBMITTED, Progress.Status.COMPLETED})


@dataclass(frozen=True)
class MilestoneDue:
    slug: str
    title: str
    due: date


def overdue_milestones(
    *, cells: Mapping[str, tuple[str, object]], milestones: Sequence[MilestoneDue], today: date
) -> list[MilestoneDue]:
    """Return the milestones past their due date and neither submitted nor completed."""
    return [
        m
        for m in milestones
        if m.due < today and cells.get(m.slug, (Progress.Status.NOT_STARTED,))[0] not in DONE
    ]


def learner_risk(
    *,
    cells: Mapping[str, tuple[str, datetime]],
    milestones: Sequence[MilestoneDue],
    today: date,
    now: datetime,
) -> list[str]:
    """Return why a learner is at risk (empty when on track).

    At risk: a milestone's expected week has passed and it is neither submitted nor
    completed, or no progress for more than 7 days. ``cells`` maps a milestone slug to
    its (status, updated_at).
    """
    reasons = [
        f"{m.title} was due {m.due.isoformat()}"
        for m in overdue_milestones(cells=cells, milestones=milestones, today=today)
    ]
    if cells:
        last = max(updated_at for _, updated_at in cells.values())
        if now - last > INACTIVE_AFTER:
            reasons.append(f"no progress for {(now - last).days} days")
    return reasons


def cohort_stats(
    *,
    milestone_slugs: Sequence[str],
    cells: Iterable[tuple[str, str]],
    learner_count: int,
    at_risk: int,
) -> dict[str, object]:
    """Return the snapshot's ``stats``: completion, per-milestone counts, on track / at risk.

    ``cells`` yields (milestone slug, status) for every cell of the cohort.
    """
    by_milestone = {slug: dict.fromkeys(STATUSES, 0) for slug in milestone_slugs}
    completed = 0
    total = 0
    for slug, status in cells:
        by_milestone[slug][status] += 1
        total += 1
        completed += status == Progress.Status.COMPLETED
    return {
        "completion": round(completed / total, 4) if total else 0.0,
        "by_milestone": by_milestone,
        "on_track": learner_count - at_risk,
        "at_risk": at_risk,
    }
