"""The schema: queries read through the selectors, mutations call the services.

Subscriptions are declared here (names, arguments, types) and served by the per-process
hub (``realtime/graphql_ws.py``), which executes their selection set on each event.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types.unset import UNSET

from dashboard.errors import Forbidden, InvalidInput, NotFound
from dashboard.graphql.context import parse_id
from dashboard.graphql.types import (
    SCALARS,
    CacheMetrics,
    CacheSample,
    Cohort,
    DateTime,
    Event,
    Info,
    Learner,
    ProgressStatus,
    Role,
    User,
    role_of,
)
from dashboard.selectors.access import can_see_cache_metrics
from dashboard.selectors.cohorts import cohort_list, events_after, user_memberships
from dashboard.selectors.metrics import cache_metrics_overview
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add, kudos_add
from realtime.protocol import display_name, iso_ms

if TYPE_CHECKING:
    from dashboard.graphql.reads import NotificationSettings, ProgramOverview

HISTORY_DEFAULT = 600
_READS = "dashboard.graphql.reads"


@strawberry.type
class Membership:
    cohort: Cohort
    role: Role
    _learner_id: strawberry.Private[int | None]

    @strawberry.field
    def learner(self, info: Info) -> Learner | None:
        if self._learner_id is None:
            return None
        snap = info.context.snapshot(self.cohort._id)
        slugs = [m["slug"] for m in snap["milestones"]]
        for row in snap["learners"]:
            if row["id"] == self._learner_id:
                return Learner.of(row, slugs)
        return None


@strawberry.type
class Me:
    id: strawberry.ID
    username: str
    name: str
    is_staff: bool

    @strawberry.field
    def memberships(self, info: Info) -> list[Membership]:
        return [
            Membership(
                cohort=Cohort(_id=m["cohort"]),
                role=role_of(m["role"]),  # type: ignore[arg-type]
                _learner_id=m["learner"],
            )
            for m in user_memberships(user=info.context.user)  # type: ignore[arg-type]
        ]

    @strawberry.field(description="The caller's email preferences (REST's /me/notifications/).")
    def notifications(self, info: Info) -> Annotated[NotificationSettings, strawberry.lazy(_READS)]:
        from dashboard.graphql.reads import notifications

        return notifications(info)


@strawberry.type
class Query:
    @strawberry.field
    def me(self, info: Info) -> Me:
        user = info.context.user
        return Me(
            id=strawberry.ID(str(user.pk)),
            username=user.get_username(),
            name=display_name(user),  # type: ignore[arg-type]
            is_staff=bool(user.is_staff),
        )

    @strawberry.field(description="The cohorts the caller may see (staff: all).")
    def cohorts(self, info: Info) -> list[Cohort]:
        rows = cohort_list(user=info.context.user)  # type: ignore[arg-type]
        return [Cohort(_id=row["id"], _listed=row) for row in rows]

    @strawberry.field(description="Null with NOT_FOUND when missing or not visible.")
    def cohort(self, info: Info, id: strawberry.ID) -> Cohort | None:
        pk, _ = info.context.viewer_or_404(id)
        return Cohort(_id=pk)

    @strawberry.field(description="Staff; others get null with FORBIDDEN (REST's 403).")
    def program_overview(
        self, info: Info
    ) -> Annotated[ProgramOverview, strawberry.lazy(_READS)] | None:
        from dashboard.graphql.reads import overview

        return overview(info)

    @strawberry.field(description="Mentors and staff; others get FORBIDDEN.")
    def cache_metrics(self, info: Info, history: int | None = HISTORY_DEFAULT) -> CacheMetrics:
        history = HISTORY_DEFAULT if history is None else history
        if not can_see_cache_metrics(info.context.user):
            raise Forbidden("Only mentors and staff see the cache metrics.")
        if not 0 <= history <= HISTORY_DEFAULT:
            raise InvalidInput(
                f"history is 0-{HISTORY_DEFAULT} seconds.", fields={"history": ["Out of range."]}
            )
        overview = cache_metrics_overview(history=history)
        return CacheMetrics(
            current=CacheSample.of(overview["current"]),
            history=[CacheSample.of(s) for s in overview["history"]],
        )


# ======================================================================================
# Mutations
# ======================================================================================


@strawberry.type
class ProgressWrite:
    learner: strawberry.ID
    milestone: str
    status: ProgressStatus
    score: int | None
    version: int
    updated_at: DateTime
    seq: int = strawberry.field(
        description="The event appended; when nothing changed, the cohort's head."
    )


@strawberry.type
class KudosWrite:
    event: int
    kudos: int
    created: bool


@strawberry.type
class Comment:
    id: strawberry.ID
    event: int
    author: User
    text: str
    at: DateTime


def _ids(info: Info, cohort: strawberry.ID, **others: strawberry.ID) -> list[int]:
    """Return the database ids of the arguments; one that cannot be an id is NOT_FOUND."""
    info.context.throttle_write()
    out = []
    for value in (cohort, *others.values()):
        pk = parse_id(value)
        if pk is None:
            raise NotFound("Not found.")
        out.append(pk)
    return out


@strawberry.type
class Mutation:
    @strawberry.mutation
    def update_progress(
        self,
        info: Info,
        cohort: strawberry.ID,
        learner: strawberry.ID,
        milestone: str,
        status: ProgressStatus | None = UNSET,
        score: int | None = UNSET,
        *,
        version: int,
    ) -> ProgressWrite:
        cohort_id, learner_id = _ids(info, cohort, learner=learner)
        if version < 1:
            raise InvalidInput("version starts at 1.", fields={"version": ["Must be >= 1."]})
        changes: dict[str, Any] = {}
        if status is not UNSET and status is not None:
            changes["status"] = status.value
        if score is not UNSET:
            changes["score"] = score
        change = progress_update(
            actor=info.context.user,  # type: ignore[arg-type]
            cohort_id=cohort_id,
            learner_id=learner_id,
            milestone_slug=milestone,
            version=version,
            **changes,
        )
        cell = change.progress
        seq = change.seq
        if seq is None:
            seq = events_after(cohort_id=cohort_id, after=0, limit=0)[1]
        return ProgressWrite(
            learner=strawberry.ID(str(cell.learner_id)),
            milestone=change.milestone_slug,
            status=ProgressStatus(cell.status),
            score=cell.score,
            version=cell.version,
            updated_at=DateTime(iso_ms(cell.updated_at) or ""),
            seq=seq,
        )

    @strawberry.mutation
    def give_kudos(self, info: Info, cohort: strawberry.ID, seq: int) -> KudosWrite:
        (cohort_id,) = _ids(info, cohort)
        result = kudos_add(actor=info.context.user, cohort_id=cohort_id, seq=seq)  # type: ignore[arg-type]
        return KudosWrite(event=result.event_seq, kudos=result.kudos, created=result.created)

    @strawberry.mutation
    def add_comment(self, info: Info, cohort: strawberry.ID, seq: int, text: str) -> Comment:
        (cohort_id,) = _ids(info, cohort)
        data = comment_add(actor=info.context.user, cohort_id=cohort_id, seq=seq, text=text)  # type: ignore[arg-type]
        return Comment(
            id=strawberry.ID(str(data["id"])),
            event=data["event"],
            author=User.of(data["author"]),  # type: ignore[arg-type]
            text=data["text"],
            at=DateTime(data["at"]),
        )


# ======================================================================================
# Subscriptions (served by realtime/graphql_ws.py through the hub)
# ======================================================================================


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Events with seq > afterSeq in order, then live ones; without afterSeq, "
        "live only. Over 1,000 missed, or afterSeq ahead of the head: RESYNC_REQUIRED."
    )
    async def cohort_events(
        self, cohort: strawberry.ID, after_seq: int | None = UNSET
    ) -> AsyncGenerator[Event, None]:
        # Declaration only: the hub's consumer executes the selection set on each event.
        raise NotImplementedError("served by realtime/graphql_ws.py")
        yield  # pragma: no cover

    @strawberry.subscription(description="The latest sample at once, then one a second.")
    async def cache_metrics(self) -> AsyncGenerator[CacheSample, None]:
        raise NotImplementedError("served by realtime/graphql_ws.py")
        yield  # pragma: no cover


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map=SCALARS),
)
