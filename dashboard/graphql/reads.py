"""The v1.1 reads (issue 19): a learner's timeline, a cell's history, the program overview
and the caller's notification settings, through the selectors REST's views call.

The filtered learner list is ``Cohort.learners``'s arguments (``types.py``); the fields
are declared on ``Cohort``, ``Query`` and ``Me`` and resolved here.
"""

from __future__ import annotations

from typing import Any

import strawberry

from dashboard.errors import Forbidden, InvalidInput, NotFound
from dashboard.graphql.context import parse_id
from dashboard.graphql.limits import check_first
from dashboard.graphql.types import DateTime, Event, Info, ProgressStatus, User
from dashboard.selectors.notifications import notification_preferences
from dashboard.selectors.program import program_overview
from dashboard.selectors.timeline import TIMELINE_MAX, cell_history, learner_timeline

TIMELINE_DEFAULT = 50


@strawberry.type(description="A learner's header: only ever shown to whoever sees all of it.")
class LearnerSummary:
    id: strawberry.ID
    name: str
    completion: float
    at_risk: bool
    risk_reasons: list[str]


@strawberry.type
class LearnerTimeline:
    learner: LearnerSummary
    events: list[Event] = strawberry.field(description="Newest first.")
    next: int | None = strawberry.field(
        description="The `before` of the next (older) page; null on the last."
    )


@strawberry.type
class ProgressVersion:
    version: int
    status: ProgressStatus
    score: int | None = strawberry.field(description="Null in a peer's history, for a learner.")
    at: DateTime
    actor: User | None
    seq: int


@strawberry.type
class ProgramCohort:
    id: strawberry.ID
    name: str
    week: int = strawberry.field(description="The current program week (0: not started).")
    completion: float
    expected_completion: float = strawberry.field(
        description="The share of the cohort's milestones past due."
    )
    on_track: int
    at_risk: int
    completion_by_week: list[float] = strawberry.field(
        description="Completion at the end of week 1, 2, ... for each week that has ended."
    )


@strawberry.type
class SlowMilestone:
    slug: str
    title: str
    median_days_late: float


@strawberry.type
class ProgramOverview:
    cohorts: list[ProgramCohort]
    slowest_milestones: list[SlowMilestone]


@strawberry.type
class NotificationSettings:
    at_risk_email: bool = strawberry.field(
        description="An email when a learner of a cohort you mentor becomes at risk."
    )
    daily_digest: bool = strawberry.field(description="A daily digest of each such cohort.")


def _learner_id(value: strawberry.ID) -> int:
    pk = parse_id(value)
    if pk is None:
        raise NotFound("No such learner in this cohort.")
    return pk


def timeline(
    info: Info, cohort_id: int, learner: strawberry.ID, before: int | None, first: int | None
) -> LearnerTimeline:
    """``learner_timeline`` as ``GET .../learners/{id}/timeline/``: a peer is NOT_FOUND."""
    info.context.not_snapshot_only()
    first = TIMELINE_DEFAULT if first is None else first
    check_first(first)
    if first > TIMELINE_MAX:
        raise InvalidInput(
            f"first is 1-{TIMELINE_MAX}.", fields={"first": [f"At most {TIMELINE_MAX}."]}
        )
    if before is not None and before < 1:
        raise InvalidInput("before must be at least 1.", fields={"before": ["Must be >= 1."]})
    viewer = info.context.visible(cohort_id)
    page = learner_timeline(
        cohort_id=cohort_id,
        learner_id=_learner_id(learner),
        viewer=viewer,
        before=before,
        limit=first,
    )
    head = page["learner"]
    return LearnerTimeline(
        learner=LearnerSummary(
            id=strawberry.ID(str(head["id"])),
            name=head["name"],
            completion=head["completion"],
            at_risk=head["at_risk"],
            risk_reasons=head["risk_reasons"],
        ),
        events=[Event.of(e) for e in page["results"]],
        next=page["next"],
    )


def history(
    info: Info, cohort_id: int, learner: strawberry.ID, milestone: str
) -> list[ProgressVersion]:
    """``cell_history`` as ``GET .../progress/{learner}/{slug}/history/``."""
    info.context.not_snapshot_only()
    viewer = info.context.visible(cohort_id)
    versions = cell_history(
        cohort_id=cohort_id,
        learner_id=_learner_id(learner),
        milestone_slug=milestone,
        viewer=viewer,
    )
    return [
        ProgressVersion(
            version=v["version"],
            status=ProgressStatus(v["status"]),
            score=v["score"],
            at=v["at"],
            actor=User.of(v["actor"]),
            seq=v["seq"],
        )
        for v in versions
    ]


def overview(info: Info) -> ProgramOverview:
    """``program_overview`` as ``GET /api/program/overview/``: staff, others FORBIDDEN."""
    if not info.context.user.is_staff:
        raise Forbidden("The program view is for staff.")
    data: dict[str, Any] = program_overview()
    return ProgramOverview(
        cohorts=[
            ProgramCohort(
                id=strawberry.ID(str(c["id"])),
                name=c["name"],
                week=c["week"],
                completion=c["completion"],
                expected_completion=c["expected_completion"],
                on_track=c["on_track"],
                at_risk=c["at_risk"],
                completion_by_week=c["completion_by_week"],
            )
            for c in data["cohorts"]
        ],
        slowest_milestones=[SlowMilestone(**m) for m in data["slowest_milestones"]],
    )


def notifications(info: Info) -> NotificationSettings:
    """``notification_preferences`` as ``GET /api/me/notifications/``."""
    return NotificationSettings(**notification_preferences(user=info.context.user))  # type: ignore[arg-type]
