"""The GraphQL object types, built from what the selectors return (plain dicts)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NewType, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types.unset import UNSET

from dashboard.errors import InvalidInput, NotFound
from dashboard.graphql.context import Context, parse_id
from dashboard.graphql.limits import check_first
from dashboard.selectors.cohorts import FEED_SIZE, events_after
from dashboard.selectors.learners import LearnerFilter, cohort_learners

if TYPE_CHECKING:
    from dashboard.graphql.reads import LearnerTimeline, ProgressVersion

_READS = "dashboard.graphql.reads"
T = TypeVar("T")


def _given(value: T | None) -> T | None:
    """Return an optional argument's value, None when it was left out."""
    return None if value is UNSET else value


# Dates and times leave as the selectors give them: the strings REST sends.
DateTime = NewType("DateTime", str)
Date = NewType("Date", str)
SCALARS: dict[object, Any] = {
    DateTime: strawberry.scalar(
        name="DateTime",
        description="ISO 8601 UTC with milliseconds, as in REST.",
        serialize=str,
        parse_value=str,
    ),
    Date: strawberry.scalar(
        name="Date", description="ISO 8601 date.", serialize=str, parse_value=str
    ),
}

Info = strawberry.Info[Context, None]


@strawberry.enum
class ProgressStatus(Enum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    COMPLETED = "completed"


@strawberry.enum
class Role(Enum):
    LEARNER = "learner"
    MENTOR = "mentor"


def role_of(value: str | None) -> Role | None:
    """Return the enum of a membership role; staff (no membership role) is null."""
    return Role(value) if value in ("learner", "mentor") else None


@strawberry.type
class User:
    id: strawberry.ID
    name: str

    @classmethod
    def of(cls, ref: dict[str, Any] | None) -> User | None:
        return None if ref is None else cls(id=strawberry.ID(str(ref["id"])), name=ref["name"])


@strawberry.type
class Milestone:
    slug: str
    title: str
    order: int
    week: int
    due_date: Date | None


@strawberry.type
class Progress:
    milestone: str
    status: ProgressStatus
    score: int | None
    version: int
    updated_at: DateTime | None


@strawberry.type
class Learner:
    id: strawberry.ID
    name: str
    at_risk: bool | None = strawberry.field(
        description="Null for a peer's row seen by a learner (product.md, privacy by role)."
    )
    risk_reasons: list[str]
    _row: strawberry.Private[dict[str, Any]]
    _slugs: strawberry.Private[list[str]]

    @classmethod
    def of(cls, row: dict[str, Any], slugs: list[str]) -> Learner:
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["name"],
            at_risk=row["at_risk"],
            risk_reasons=row["risk_reasons"],
            _row=row,
            _slugs=slugs,
        )

    @strawberry.field(description="Completed milestones over all milestones (0-1).")
    def completion(self) -> float:
        cells = self._row["progress"]
        done = sum(1 for s in self._slugs if cells.get(s, {}).get("status") == "completed")
        return round(done / len(self._slugs), 4) if self._slugs else 0.0

    @strawberry.field(description="Every milestone, in order.")
    def progress(self) -> list[Progress]:
        cells = self._row["progress"]
        out = []
        for slug in self._slugs:
            cell = cells.get(slug)
            if cell is None:  # no row yet: not started, never written
                out.append(
                    Progress(
                        milestone=slug,
                        status=ProgressStatus.NOT_STARTED,
                        score=None,
                        version=1,
                        updated_at=None,
                    )
                )
                continue
            out.append(
                Progress(
                    milestone=slug,
                    status=ProgressStatus(cell["status"]),
                    score=cell["score"],
                    version=cell["version"],
                    updated_at=cell["updated_at"],
                )
            )
        return out


@strawberry.type
class MilestoneStats:
    milestone: str
    not_started: int
    in_progress: int
    submitted: int
    completed: int


@strawberry.type
class CohortStats:
    completion: float
    on_track: int
    at_risk: int
    by_milestone: list[MilestoneStats]


@strawberry.type
class Event:
    seq: int
    kind: str
    at: DateTime
    actor: User | None
    data: JSON
    kudos: int
    comments: int

    @classmethod
    def of(cls, payload: dict[str, Any]) -> Event:
        return cls(
            seq=payload["seq"],
            kind=payload["kind"],
            at=payload["at"],
            actor=User.of(payload["actor"]),
            data=payload["data"],
            kudos=payload["kudos"],
            comments=payload["comments"],
        )


@strawberry.type
class PresenceEntry:
    user: User
    role: Role | None
    since: DateTime


@strawberry.type
class CacheSample:
    at: DateTime
    backend: str
    hits: int
    misses: int
    hit_ratio: float | None
    window_hit_ratio: float | None
    ops_per_sec: float
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    keys: int | None
    memory_bytes: int | None
    evictions: int | None

    @classmethod
    def of(cls, sample: dict[str, Any]) -> CacheSample:
        latency = sample.get("latency_ms") or {}
        return cls(
            at=sample["at"],
            backend=sample["backend"],
            hits=sample["hits"],
            misses=sample["misses"],
            hit_ratio=sample.get("hit_ratio"),
            window_hit_ratio=(sample.get("window") or {}).get("hit_ratio"),
            ops_per_sec=sample.get("ops_per_sec") or 0.0,
            latency_p50_ms=latency.get("p50"),
            latency_p99_ms=latency.get("p99"),
            keys=sample.get("keys"),
            memory_bytes=sample.get("memory_bytes"),
            evictions=sample.get("evictions"),
        )


@strawberry.type
class CacheMetrics:
    current: CacheSample
    history: list[CacheSample]


# ======================================================================================
# Cohort: every field from the one snapshot read of the operation
# ======================================================================================


@strawberry.type
class Cohort:
    _id: strawberry.Private[int]
    _listed: strawberry.Private[dict[str, Any] | None] = None  # its cohort_list row

    def _snap(self, info: Info) -> dict[str, Any]:
        return info.context.snapshot(self._id)

    def _base(self, info: Info) -> dict[str, Any]:
        return self._listed if self._listed is not None else self._snap(info)["cohort"]

    def _learners(self, info: Info) -> list[dict[str, Any]]:
        return self._snap(info)["learners"]  # type: ignore[no-any-return]

    def _slugs(self, info: Info) -> list[str]:
        return [m["slug"] for m in self._snap(info)["milestones"]]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self._id))

    @strawberry.field
    def name(self, info: Info) -> str:
        return str(self._base(info)["name"])

    @strawberry.field
    def program(self, info: Info) -> str:
        return str(self._base(info)["program"])

    @strawberry.field
    def start_date(self, info: Info) -> Date:
        return self._base(info)["start_date"]  # type: ignore[no-any-return]

    @strawberry.field
    def end_date(self, info: Info) -> Date:
        return self._base(info)["end_date"]  # type: ignore[no-any-return]

    @strawberry.field
    def learner_count(self, info: Info) -> int:
        if self._listed is not None:
            return int(self._listed["learner_count"])
        return len(self._snap(info)["learners"])

    @strawberry.field
    def completion(self, info: Info) -> float:
        if self._listed is not None:
            return float(self._listed["completion"])
        return float(self._snap(info)["stats"]["completion"])

    @strawberry.field(description="The event head, consistent with this cohort's other fields.")
    def seq(self, info: Info) -> int:
        return int(self._snap(info)["seq"])

    @strawberry.field
    def milestones(self, info: Info) -> list[Milestone]:
        return [Milestone(**m) for m in self._snap(info)["milestones"]]

    @strawberry.field(
        description="Every learner; with any argument, REST's /learners/ filters "
        "(cohort_learners): atRisk not for learners, milestone and status together."
    )
    def learners(
        self,
        info: Info,
        at_risk: bool | None = UNSET,
        overdue: bool | None = UNSET,
        milestone: str | None = UNSET,
        status: ProgressStatus | None = UNSET,
        search: str | None = UNSET,
    ) -> list[Learner]:
        slugs = self._slugs(info)
        filters = LearnerFilter(
            at_risk=_given(at_risk),
            overdue=_given(overdue),
            milestone=_given(milestone),
            status=status.value if isinstance(status, ProgressStatus) else None,
            search=_given(search),
        )
        if filters == LearnerFilter():
            return [Learner.of(row, slugs) for row in self._learners(info)]
        if filters.search is not None and len(filters.search) > 100:
            raise InvalidInput(
                "search is at most 100 characters.", fields={"search": ["Too long."]}
            )
        info.context.not_snapshot_only()  # overdue and risk are as of now
        rows = cohort_learners(
            cohort_id=self._id,
            viewer=info.context.visible(self._id),
            filters=filters,
            bundle=info.context.bundle(self._id),
        )
        return [Learner.of(row, slugs) for row in rows]

    @strawberry.field
    def learner(self, info: Info, id: strawberry.ID) -> Learner | None:
        pk = parse_id(id)
        for row in self._learners(info):
            if row["id"] == pk:
                return Learner.of(row, self._slugs(info))
        raise NotFound("No such learner in this cohort.")

    @strawberry.field
    def stats(self, info: Info) -> CohortStats:
        stats = self._snap(info)["stats"]
        return CohortStats(
            completion=stats["completion"],
            on_track=stats["on_track"],
            at_risk=stats["at_risk"],
            by_milestone=[
                MilestoneStats(milestone=slug, **counts)
                for slug, counts in stats["by_milestone"].items()
            ],
        )

    @strawberry.field(description=f"Newest first, at most {FEED_SIZE}.")
    def feed(self, info: Info, first: int | None = FEED_SIZE) -> list[Event]:
        first = FEED_SIZE if first is None else first
        check_first(first)
        return [Event.of(e) for e in self._snap(info)["feed"][:first]]

    @strawberry.field(description="Events with seq > after, oldest first; first <= 500.")
    def events(self, info: Info, after: int | None = 0, first: int | None = 100) -> list[Event]:
        after = after or 0
        first = 100 if first is None else first
        check_first(first)
        if after < 0:
            raise InvalidInput("after must be at least 0.", fields={"after": ["Must be >= 0."]})
        info.context.not_snapshot_only()
        viewer = info.context.visible(self._id)
        events, _ = events_after(cohort_id=self._id, after=after, limit=first, viewer=viewer)
        return [Event.of(dict(e)) for e in events]

    @strawberry.field(
        description="The learner's events, newest first (REST's timeline): mentors, staff "
        "and the learner themself; a peer is null with NOT_FOUND. first <= 200."
    )
    def timeline(
        self,
        info: Info,
        learner: strawberry.ID,
        before: int | None = UNSET,
        first: int | None = 50,
    ) -> Annotated[LearnerTimeline, strawberry.lazy(_READS)] | None:
        from dashboard.graphql.reads import timeline

        return timeline(info, self._id, learner, None if before is UNSET else before, first)

    @strawberry.field(
        description="The cell's versions, newest first (REST's history); a learner reads "
        "a peer's without scores. Unknown learner or milestone: null with NOT_FOUND."
    )
    def progress_history(
        self, info: Info, learner: strawberry.ID, milestone: str
    ) -> list[Annotated[ProgressVersion, strawberry.lazy(_READS)]] | None:
        from dashboard.graphql.reads import history

        return history(info, self._id, learner, milestone)

    @strawberry.field
    def presence(self, info: Info) -> list[PresenceEntry]:
        return [
            PresenceEntry(
                user=User.of(e["user"]),  # type: ignore[arg-type]
                role=role_of(e.get("role")),
                since=e["since"],
            )
            for e in self._snap(info)["presence"]
        ]
