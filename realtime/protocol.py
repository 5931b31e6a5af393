"""The wire: every event, frame and layer message shape, declared once.

REST serialises events with ``event_payload`` and the WebSocket layer sends the same dicts,
so an event looks the same wherever a client meets it. Here are, in both directions:

- server frames (``welcome``, ``subscribed``, ``event``, ``events``, ``presence``,
  ``metrics``, ``pong``, ``unsubscribed``, ``error``) and their encoders;
- client frames (``auth``, ``subscribe``, ``unsubscribe``, ``ping``), parsed by
  ``parse_client_frame`` into typed dicts or a ``FrameError`` with its code;
- the channel-layer messages between publishers and hubs (``rt.event``, ``rt.presence``,
  ``rt.metrics``, ``rt.probe``) and their groups;
- topic names, close codes and error codes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

# The domain's formats (dashboard/formats.py), re-exported for the importers of the old
# names in dashboard/graphql.
from dashboard.formats import display_name as display_name
from dashboard.formats import iso_ms as iso_ms

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from dashboard.models import Comment, Event


# --------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------


class UserRef(TypedDict):
    id: int
    name: str


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


def comment_data(comment: Comment, seq: int) -> CommentData:
    """Return a comment on event ``seq`` as REST lists it and ``comment.added`` carries it."""
    return {
        "id": comment.pk,
        "event": seq,
        "author": user_ref(comment.author),  # type: ignore[typeddict-item]
        "text": comment.text,
        "at": iso_ms(comment.created_at) or "",
    }


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
ERR_UNAVAILABLE = "unavailable"  # the database could not be read: subscribe again later
UNAVAILABLE_MESSAGE = "The events could not be read; subscribe again."
# Not sent: a socket whose first frame is not a valid ``auth`` is closed with 4401.
ERR_UNAUTHENTICATED = "unauthenticated"


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


def presence_frame_text(topic: str, joins: list[Any], leaves: list[Any]) -> str:
    frame: PresenceFrame = {"type": "presence", "topic": topic, "joins": joins, "leaves": leaves}
    return dumps(frame)


def cohort_id_of(topic: str) -> int | None:
    """Return the cohort id of the topic ``cohort:{id}`` (a positive id), else None."""
    prefix, _, raw = topic.partition(":")
    if (
        f"{prefix}:" != COHORT_TOPIC_PREFIX
        or not raw.isascii()
        or not raw.isdigit()
        or len(raw) > 18
    ):
        return None
    cohort_id = int(raw)
    return cohort_id if cohort_id > 0 else None


# --------------------------------------------------------------------------------------
# Frames (client to server)
# --------------------------------------------------------------------------------------


class AuthFrame(TypedDict):
    type: Literal["auth"]
    token: str
    ref: NotRequired[Any]


class SubscribeFrame(TypedDict):
    type: Literal["subscribe"]
    topic: str
    since: NotRequired[int | None]
    ref: NotRequired[Any]


class UnsubscribeFrame(TypedDict):
    type: Literal["unsubscribe"]
    topic: str
    ref: NotRequired[Any]


class PingFrame(TypedDict):
    type: Literal["ping"]
    ref: NotRequired[Any]


ClientFrame = AuthFrame | SubscribeFrame | UnsubscribeFrame | PingFrame


class FrameError(Exception):
    """A client frame that breaks the schema: its ``error`` code and message, and the
    frame's ``ref`` when it had one (to echo in the ``error`` frame)."""

    def __init__(self, code: str, message: str, ref: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


def parse_client_frame(data: str | bytes, *, authenticated: bool) -> ClientFrame:
    """Decode and check one client frame; raise ``FrameError`` when it breaks the schema.

    Before authentication the only valid frame is an ``auth`` with a string token (the
    consumer closes the socket with 4401 on any ``FrameError``); after it, ``auth`` is
    ``already_authenticated``.
    """
    try:
        frame = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nesting too deep
        frame = None
    if not isinstance(frame, dict):
        raise FrameError(ERR_BAD_FRAME, "A frame is a JSON object.")
    ref = frame.get("ref")
    kind = frame.get("type")
    if not authenticated:
        if kind != "auth" or not isinstance(frame.get("token"), str):
            raise FrameError(ERR_UNAUTHENTICATED, "The first frame must be an auth.", ref)
        return frame  # type: ignore[return-value]
    if kind == "ping":
        return frame  # type: ignore[return-value]
    if kind == "subscribe" or kind == "unsubscribe":
        if not isinstance(frame.get("topic"), str):
            raise FrameError(ERR_BAD_FRAME, f"{kind} needs a topic.", ref)
        since = frame.get("since")
        if (
            kind == "subscribe"
            and since is not None
            and (isinstance(since, bool) or not isinstance(since, int) or not 0 <= since <= MAX_SEQ)
        ):
            raise FrameError(
                ERR_BAD_FRAME, "since is a seq (an integer from 0 to 2^62) or null.", ref
            )
        return frame  # type: ignore[return-value]
    if kind == "auth":
        raise FrameError(ERR_ALREADY_AUTHENTICATED, "Already authenticated.", ref)
    if isinstance(kind, str):
        raise FrameError(ERR_UNKNOWN_TYPE, f"Unknown frame type {kind[:40]!r}.", ref)
    raise FrameError(ERR_BAD_FRAME, "A frame needs a string type.", ref)


# --------------------------------------------------------------------------------------
# Channel-layer messages (publishers to every process's hub)
# --------------------------------------------------------------------------------------

MSG_EVENT = "rt.event"
MSG_PRESENCE = "rt.presence"
MSG_METRICS = "rt.metrics"
MSG_PROBE = "rt.probe"

METRICS_GROUP = "metrics.cache"


def cohort_group(cohort_id: int) -> str:
    return f"cohort.{cohort_id}"


class EventMessage(TypedDict):
    type: Literal["rt.event"]
    cohort: int
    seq: int
    json: str  # the event, encoded once by the publisher


class PresenceMessage(TypedDict):
    type: Literal["rt.presence"]
    cohort: int
    joins: list[PresenceEntry]
    leaves: list[PresenceEntry]


class MetricsMessage(TypedDict):
    type: Literal["rt.metrics"]
    json: str  # the sample, encoded once by the publisher


class ProbeMessage(TypedDict):
    type: Literal["rt.probe"]
    token: str


def event_message(cohort_id: int, payload: EventPayload) -> EventMessage:
    return {"type": "rt.event", "cohort": cohort_id, "seq": payload["seq"], "json": dumps(payload)}


def presence_message(
    cohort_id: int, joins: list[PresenceEntry], leaves: list[PresenceEntry]
) -> PresenceMessage:
    return {"type": "rt.presence", "cohort": cohort_id, "joins": joins, "leaves": leaves}


def metrics_message(sample: dict[str, Any]) -> MetricsMessage:
    return {"type": "rt.metrics", "json": dumps(sample)}


def probe_message(token: str) -> ProbeMessage:
    return {"type": "rt.probe", "token": token}
