"""The wire: every event and frame shape, declared once.

REST serialises events with ``event_payload`` and the WebSocket layer sends the same dicts,
so an event looks the same wherever a client meets it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from dashboard.models import Event


# --------------------------------------------------------------------------------------
# Times and people
# --------------------------------------------------------------------------------------


def iso_ms(value: datetime | None) -> str | None:
    """Return ``value`` as ISO 8601 UTC with milliseconds, e.g. ``2026-11-26T09:41:35.123Z``."""
    if value is None:
        return None
    utc = value.astimezone(UTC) if timezone.is_aware(value) else value
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class UserRef(TypedDict):
    id: int
    name: str


def display_name(user: AbstractBaseUser) -> str:
    full = getattr(user, "get_full_name", lambda: "")()
    return full or user.get_username()


def user_ref(user: AbstractBaseUser | None) -> UserRef | None:
    if user is None:
        return None
    return {"id": int(user.pk), "name": display_name(user)}


# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------

EventKind = Literal[
    "progress.updated",
    "kudos.added",
    "comment.added",
    "learner.added",
    "cohort.updated",
    # Appended by the periodic jobs (dashboard/jobs.py); data shapes in docs/deploy.md.
    "learner.at_risk",
    "learner.on_track",
    "report.daily",
    # What a learner gets instead of an event about a peer's risk (privacy by role,
    # dashboard/selectors/privacy.py): seq and time only, so their seq stays gap-free.
    "hidden",
]
HIDDEN_KIND = "hidden"


class ProgressUpdatedData(TypedDict):
    learner: UserRef  # ``id`` is the learner (membership) id, as in the snapshot
    milestone: str
    status: str
    previous_status: str
    score: int | None
    version: int


class KudosAddedData(TypedDict):
    event: int
    kudos: int


class CommentData(TypedDict):
    id: int
    event: int
    author: UserRef
    text: str
    at: str


class LearnerRef(TypedDict):
    id: int  # the learner (membership) id
    name: str
    user: int  # the user id, as in presence entries


class LearnerAddedData(TypedDict):
    learner: LearnerRef
    progress: dict[str, dict[str, Any]]


class EventPayload(TypedDict):
    seq: int
    kind: EventKind
    at: str
    actor: UserRef | None
    data: dict[str, Any]
    kudos: int
    comments: int


def event_payload(event: Event, *, as_published: bool = False) -> EventPayload:
    """Return the wire shape of ``event``.

    ``kudos`` and ``comments`` are its current counts, or with ``as_published`` the counts
    it had when new (0): a reader of the log applies the reactions, which are events of
    their own after it, and would otherwise count each one twice.
    """
    return {
        "seq": event.seq,
        "kind": event.kind,  # type: ignore[typeddict-item]
        "at": iso_ms(event.created_at) or "",
        "actor": user_ref(event.actor) if event.actor_id else None,
        "data": event.data,
        "kudos": 0 if as_published else event.kudos_count,
        "comments": 0 if as_published else event.comment_count,
    }


# --------------------------------------------------------------------------------------
# Presence
# --------------------------------------------------------------------------------------


class PresenceEntry(TypedDict):
    user: UserRef
    role: str
    since: str


# --------------------------------------------------------------------------------------
# Frames (server to client)
# --------------------------------------------------------------------------------------


class SubscribedFrame(TypedDict):
    type: Literal["subscribed"]
    topic: str
    seq: NotRequired[int]
    recovered: NotRequired[bool]
    presence: NotRequired[list[PresenceEntry]]
    ref: NotRequired[Any]


class EventFrame(TypedDict):
    type: Literal["event"]
    topic: str
    event: EventPayload


class EventsFrame(TypedDict):
    type: Literal["events"]
    topic: str
    events: list[EventPayload]


class PresenceFrame(TypedDict):
    type: Literal["presence"]
    topic: str
    joins: list[PresenceEntry]
    leaves: list[PresenceEntry]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    ref: NotRequired[Any]


# --------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------


class ProgressCell(TypedDict):
    status: str
    score: int | None
    version: int
    updated_at: str


def progress_cell(
    *, status: str, score: int | None, version: int, updated_at: datetime
) -> ProgressCell:
    return {
        "status": status,
        "score": score,
        "version": version,
        "updated_at": iso_ms(updated_at) or "",
    }


# --------------------------------------------------------------------------------------
# WebSocket frames: more server frames, topics, and the one JSON encoder of the wire
# --------------------------------------------------------------------------------------

COHORT_TOPIC_PREFIX = "cohort:"
METRICS_TOPIC = "metrics:cache"


class WelcomeFrame(TypedDict):
    type: Literal["welcome"]
    user: UserRef
    ref: NotRequired[Any]


class MetricsFrame(TypedDict):
    type: Literal["metrics"]
    topic: str
    sample: dict[str, Any]


class PongFrame(TypedDict):
    type: Literal["pong"]
    ref: NotRequired[Any]


class UnsubscribedFrame(TypedDict):
    """An extension of the spec: the answer to an ``unsubscribe`` (clients may ignore it)."""

    type: Literal["unsubscribed"]
    topic: str
    ref: NotRequired[Any]


# Close codes of the spec (and the standard ones the server uses).
CLOSE_SERVICE_RESTART = 1012  # the channel layer was lost: reconnect and recover
CLOSE_POLICY = 1008  # too many frames a second, sustained
CLOSE_TOO_BIG = 1009  # a frame over the size limit
CLOSE_GOING_AWAY = 1001  # idle for too long, or the server is stopping
CLOSE_UNAUTHENTICATED = 4401
CLOSE_SLOW_CONSUMER = 4408

# The largest seq a client may name (as the REST API's ``after``): larger ones are bad frames.
MAX_SEQ = 2**62

# Error codes of ``error`` frames.
ERR_BAD_FRAME = "bad_frame"
ERR_UNKNOWN_TYPE = "unknown_type"
ERR_NOT_FOUND = "not_found"
ERR_TOO_MANY_TOPICS = "too_many_topics"
ERR_ALREADY_AUTHENTICATED = "already_authenticated"
ERR_RATE_LIMITED = "rate_limited"  # subscribes faster than WS_SUBSCRIBE_RATE


# ASCII output: a lone surrogate in user text cannot break the UTF-8 encoding of a frame.
_encoder = json.JSONEncoder(separators=(",", ":"))


def dumps(value: Any) -> str:
    """Encode one frame (or a part of one) as compact JSON; the one encoder of the wire."""
    return _encoder.encode(value)


def cohort_topic(cohort_id: int) -> str:
    return f"{COHORT_TOPIC_PREFIX}{cohort_id}"


def event_frame_text(topic: str, event_json: str) -> str:
    """Return an ``event`` frame around an event already encoded (no second encoding)."""
    return f'{{"type":"event","topic":{dumps(topic)},"event":{event_json}}}'


def events_frame_text(topic: str, event_jsons: list[str]) -> str:
    """Return an ``events`` frame around events already encoded, in the order given."""
    return f'{{"type":"events","topic":{dumps(topic)},"events":[{",".join(event_jsons)}]}}'


def metrics_frame_text(sample_json: str) -> str:
    return f'{{"type":"metrics","topic":"{METRICS_TOPIC}","sample":{sample_json}}}'


def error_frame(code: str, message: str, ref: Any = None) -> ErrorFrame:
    frame: ErrorFrame = {"type": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = ref
    return frame
