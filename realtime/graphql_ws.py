"""GraphQL subscriptions on ``/graphql/``: ``graphql-transport-ws`` over the process's hub.

Why not strawberry's Channels consumer: it runs one async generator per subscription,
which would need its own channel-layer group (or its own queue fed by one) per
subscriber, and would execute the selection set once per subscriber per event. Here each
subscription is a hub connection (``_OperationConnection``) whose frames are turned,
synchronously and in the hub's order, into ``next`` messages: the hub's ordering, replay
and gap fill apply to it as to a ``/ws/live/`` socket. The selection set is executed once
per (document, variables, form of the event, seq) in the process, so 1,000 subscribers
of one document cost one execution per event; each subscriber's message is that shared
answer with its operation id in front.

Every message of one socket goes out through one writer: a hub ``Connection`` around the
socket's ASGI ``send`` (not subscribed to anything). It writes straight to the transport
where that is correct and otherwise queues in order, bounded: a socket that stops
reading is closed with 4408 as on ``/ws/live/``. Answers to the client's own messages
(ack, pong, errors, queries) take the same writer, so nothing overtakes anything.

The protocol (github.com/enisdenjo/graphql-ws, PROTOCOL.md): ``connection_init`` (auth)
-> ``connection_ack``; ``ping``/``pong``; ``subscribe`` -> ``next``* then ``complete``, or
one ``error``; the client's ``complete`` stops an operation. Close codes: 4400 bad
message, 4401 subscribe before ack, 4403 forbidden, 4406 no subprotocol, 4408 init
timeout or slow subscriber, 4409 duplicate id, 4429 second init.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from django.conf import settings
from django.db import DatabaseError

from dashboard.graphql.context import Context, parse_id
from dashboard.graphql.errors import (
    BAD_USER_INPUT,
    FORBIDDEN,
    NOT_FOUND,
    RESYNC_REQUIRED,
    UNAVAILABLE,
)
from dashboard.graphql.execution import Prepared, RequestError, prepare, run
from dashboard.graphql.types import CacheSample, Event
from dashboard.graphql.visibility import (
    Viewer,
    event_for,
    sees_whole_event,
    viewer_for,
    viewer_role,
)
from dashboard.selectors.access import can_see_cache_metrics
from dashboard.selectors.metrics import cache_metrics_overview
from realtime import protocol
from realtime.connection import Connection
from realtime.consumers import _has_origin, _user_from_token
from realtime.hub import Hub, LayerLost, get_hub

logger = logging.getLogger(__name__)

SUBPROTOCOL = "graphql-transport-ws"
CLOSE_BAD_MESSAGE = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SUBPROTOCOL = 4406
CLOSE_INIT_TIMEOUT = 4408
CLOSE_DUPLICATE_ID = 4409
CLOSE_TOO_MANY_INITS = 4429


# --------------------------------------------------------------------------------------
# One execution per event per distinct document, variables and audience
# --------------------------------------------------------------------------------------


class _Memo:
    """A bounded map of recent results, oldest evicted first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        value = self.items.get(key)
        if value is None:
            value = self.items[key] = compute()
            if len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


# The hub hands every subscriber the same frame text: parsed once, executed once per
# document and form of the event. A result is kept as the tail of its ``next`` message
# (``,"type":"next","payload":...}``): a subscriber's message is its id's head + the tail.
_frames = _Memo(256)
_results = _Memo(4096)


def _head(op_id: str) -> str:
    return f'{{"id":{protocol.dumps(op_id)}'


def _tail(kind: str, payload_json: str | None = None) -> str:
    payload = "" if payload_json is None else f',"payload":{payload_json}'
    return f',"type":"{kind}"{payload}}}'


def _message(op_id: str, kind: str, payload_json: str | None = None) -> str:
    return _head(op_id) + _tail(kind, payload_json)


def _errors_json(code: str, message: str) -> str:
    return protocol.dumps([{"message": message, "extensions": {"code": code}}])


# --------------------------------------------------------------------------------------
# One subscription: a hub connection whose frames become ``next`` messages
# --------------------------------------------------------------------------------------


class _Operation:
    def __init__(
        self, consumer: GraphQLWSConsumer, op_id: str, prepared: Prepared, viewer: Viewer | None
    ) -> None:
        self.consumer = consumer
        self.id = op_id
        self.head = _head(op_id)
        self.prepared = prepared
        self.viewer = viewer
        self.doc_key = (
            prepared.document.loc.source.body if prepared.document.loc else id(prepared),
            protocol.dumps(sorted(prepared.variables.items())),
            prepared.operation_name,
        )
        self.resync_after: int | None = None  # afterSeq: the hub must recover from it
        self.last_sample_at: str | None = None
        self.done = False
        self.conn: _OperationConnection | None = None

    def attach(self, hub: Hub, user: Any) -> _OperationConnection:
        conn = hub.connect(_no_send, kind=_OperationConnection)
        assert isinstance(conn, _OperationConnection)
        self.conn = conn
        conn.operation = self
        conn.user = user
        conn.user_entry = protocol.user_ref(user)
        conn.auth_deadline = None
        # The hub's idle sweep is for sockets that stopped talking; this connection is a
        # part of one (graphql-transport-ws makes pings optional), closed with it.
        conn.last_rx = float("inf")
        return conn

    def on_frame(self, text: str) -> None:
        """Turn one of the hub's frames for this operation into its messages."""
        if self.done:
            return
        frame = _frames.get(text, lambda: json.loads(text))
        kind = frame.get("type")
        if kind == "subscribed":
            if self.resync_after is not None and not frame.get("recovered"):
                self.finish_with_error(RESYNC_REQUIRED, "Too many missed events: resync.")
        elif kind == "event":
            self._next_event(frame["event"])
        elif kind == "events":
            for event in frame["events"]:
                self._next_event(event)
        elif kind == "metrics":
            self.next_sample(frame["sample"])

    def _next_event(self, payload: dict[str, Any]) -> None:
        if self.done:
            return
        viewer = self.viewer
        # The answer depends on the document and the event as this viewer may see it:
        # whole, or redacted (the same for every learner it is not about).
        whole = viewer is None or sees_whole_event(payload, viewer)
        key = (self.doc_key, payload["seq"], whole)
        tail = _results.get(key, lambda: self._next_tail(payload, viewer))
        self.consumer.send_text(self.head + tail)

    def _next_tail(self, payload: dict[str, Any], viewer: Viewer | None) -> str:
        seen = event_for(payload, viewer) if viewer is not None else payload
        return _tail("next", self._execute(Event.of(seen)))

    def next_sample(self, sample: dict[str, Any]) -> None:
        # The hub's "latest sample at once" and the on-the-spot one may be the same.
        if self.done or sample.get("at") == self.last_sample_at:
            return
        self.last_sample_at = sample.get("at")
        key = (self.doc_key, "metrics", sample.get("at"))
        tail = _results.get(key, lambda: _tail("next", self._execute(CacheSample.of(sample))))
        self.consumer.send_text(self.head + tail)

    def _execute(self, root: Any) -> str:
        return protocol.dumps(run(self.prepared, None, root_value=root))

    def finish_with_error(self, code: str, message: str) -> None:
        """End the operation with one ``error`` message (nothing after it)."""
        if self.done:
            return
        self.stop()
        self.consumer.send_text(_message(self.id, "error", _errors_json(code, message)))

    def stop(self) -> None:
        """Forget the operation and its hub connection (outside the hub's writer task)."""
        self.done = True
        self.consumer.operations.pop(self.id, None)
        conn = self.conn
        if conn is not None:
            conn.close_sent = True  # closing it is this socket's business, not the hub's
            conn.hub.loop.call_soon(conn.hub.detach, conn)


class _OperationConnection(Connection):
    """A subscription as the hub sees it: every frame it is handed (fan-out, replay,
    replies) goes to its operation at once; the socket's writer does the queueing."""

    __slots__ = ("operation",)

    operation: _Operation

    def push(self, text: str, frame: bytes | None = None) -> None:
        self.operation.on_frame(text)

    def push_many(self, events: list[tuple[int, str, bytes]]) -> None:
        for _, text, _ in events:
            self.operation.on_frame(text)

    def close_soon(self, code: int) -> asyncio.Task[None] | None:
        """Closed by the hub (1012: layer lost; 1001: stopping): the socket closes, its
        writer sends (and counts) the close frame; the task sending it is returned."""
        if self.close_sent:
            return None
        self.close_sent = True
        self.hub.detach(self)
        return None if self.operation.done else self.operation.consumer.close(code)


async def _no_send(message: dict[str, Any]) -> None:
    """An operation's hub connection writes nothing itself (see ``_OperationConnection``)."""


# --------------------------------------------------------------------------------------
# The consumer
# --------------------------------------------------------------------------------------


class GraphQLWSConsumer(AsyncConsumer):
    channel_layer_alias = "__realtime_no_layer__"  # the hub holds the subscriptions

    user: Any = None
    acked = False
    init_seen = False
    closed = False
    writer: Connection | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        self.operations: dict[str, _Operation] = {}
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    await self._receive(message)
                elif kind == "websocket.connect":
                    await self._connect()
                elif kind == "websocket.disconnect":
                    self._stop_all()
                    if self.writer is not None:
                        self.writer.close_sent = True
                        self.writer.hub.detach(self.writer)
                    raise StopConsumer()
        except StopConsumer:
            pass

    def send_text(self, text: str) -> None:
        """Send one message: the socket's writer keeps every message in order."""
        if not self.closed and self.writer is not None:
            self.writer.push(text)

    def close(self, code: int) -> asyncio.Task[None] | None:
        """Close the socket with ``code`` (in the background) and stop its operations;
        return the task sending the close frame (None: already closing)."""
        task = None
        if self.writer is not None:
            task = self.writer.close_soon(code)  # its ``on_closed`` is ``_writer_closed``
        self._writer_closed()
        return task

    def _writer_closed(self) -> None:
        """The socket is closing (ours, or the writer cut a slow peer): stop everything."""
        if self.closed:
            return
        self.closed = True
        self._stop_all()
        timer = getattr(self, "_init_timer", None)
        if timer is not None:
            timer.cancel()

    def _stop_all(self) -> None:
        for op in list(self.operations.values()):
            op.stop()

    async def _connect(self) -> None:
        hub = get_hub()
        await hub.start()
        if SUBPROTOCOL not in self.scope.get("subprotocols", []):
            await self.base_send({"type": "websocket.accept"})
            await self.base_send({"type": "websocket.close", "code": CLOSE_SUBPROTOCOL})
            self.closed = True
            return
        await self.base_send({"type": "websocket.accept", "subprotocol": SUBPROTOCOL})
        # Not registered with the hub: it carries no subscription, and its operations'
        # own hub connections are what the hub closes (1012) when the layer is lost.
        writer = self.writer = Connection(hub, self.scope.get("realtime.send", self.base_send))
        writer.on_closed = self._writer_closed
        loop = hub.loop
        self._init_timer = loop.call_later(
            float(settings.WS_AUTH_TIMEOUT),
            lambda: None if self.acked else self.close(CLOSE_INIT_TIMEOUT),
        )

    async def _receive(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        data = message.get("text")
        if data is None or len(data) > int(settings.WS_MAX_FRAME_BYTES):
            self.close(CLOSE_BAD_MESSAGE if data is None else protocol.CLOSE_TOO_BIG)
            return
        try:
            frame = json.loads(data)
        except (ValueError, RecursionError):
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            self.close(CLOSE_BAD_MESSAGE)
            return
        kind = frame["type"]
        if kind == "connection_init":
            await self._init(frame.get("payload"))
        elif kind == "ping":
            self.send_text('{"type":"pong"}')
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            await self._subscribe(frame)
        elif kind == "complete":
            op = self.operations.get(frame.get("id"))  # type: ignore[arg-type]
            if op is not None:
                op.stop()
        else:
            self.close(CLOSE_BAD_MESSAGE)

    async def _init(self, payload: Any) -> None:
        if self.init_seen:
            self.close(CLOSE_TOO_MANY_INITS)
            return
        self.init_seen = True
        user = None
        auth = None
        if isinstance(payload, dict):  # clients spell the key either way
            auth = payload.get("authorization", payload.get("Authorization"))
        if isinstance(auth, str) and auth.startswith("Bearer "):
            user = await database_sync_to_async(_user_from_token)(auth[len("Bearer ") :])
            if self.closed:
                return
        elif auth is None and _has_origin(self.scope):
            # A browser (Origin checked by the validator) may ride its session.
            session_user = self.scope.get("user")
            if session_user is not None and session_user.is_authenticated:
                user = session_user
        if user is None:
            self.close(CLOSE_FORBIDDEN)
            return
        self.user = user
        self.acked = True
        self.send_text('{"type":"connection_ack"}')

    # Operations ------------------------------------------------------------------------

    async def _subscribe(self, frame: dict[str, Any]) -> None:
        op_id = frame.get("id")
        payload = frame.get("payload")
        if not isinstance(op_id, str) or not op_id or not isinstance(payload, dict):
            self.close(CLOSE_BAD_MESSAGE)
            return
        if not self.acked:
            self.close(CLOSE_UNAUTHORIZED)
            return
        if op_id in self.operations:
            self.close(CLOSE_DUPLICATE_ID)
            return
        try:
            prepared = prepare(
                payload.get("query"), payload.get("variables"), payload.get("operationName")
            )
        except RequestError as refused:
            self.send_text(_message(op_id, "error", protocol.dumps(refused.errors)))
            return
        if len(self.operations) >= int(settings.WS_MAX_TOPICS):
            self._error(op_id, BAD_USER_INPUT, "Too many operations on one socket.")
        elif prepared.kind == "query":
            body = await database_sync_to_async(run)(prepared, Context(user=self.user))
            if self.closed:
                return
            self.send_text(_message(op_id, "next", protocol.dumps(body)))
            self.send_text(_message(op_id, "complete"))
        elif prepared.kind == "mutation":
            self._error(op_id, BAD_USER_INPUT, "Mutations go by POST to /graphql/.")
        else:
            try:
                await self._start(op_id, prepared)
            except DatabaseError:
                logger.warning("subscription %s failed: the database could not be read", op_id)
                op = self.operations.get(op_id)
                if op is not None:
                    op.finish_with_error(UNAVAILABLE, protocol.UNAVAILABLE_MESSAGE)
                else:
                    self._error(op_id, UNAVAILABLE, protocol.UNAVAILABLE_MESSAGE)

    def _error(self, op_id: str, code: str, message: str) -> None:
        self.send_text(_message(op_id, "error", _errors_json(code, message)))

    async def _start(self, op_id: str, prepared: Prepared) -> None:
        root = prepared.root_field()
        if root is None:
            self._error(op_id, BAD_USER_INPUT, "Subscribe with one field at the root.")
            return
        name, args = root
        hub = get_hub()
        if name == "cacheMetrics":
            allowed = await database_sync_to_async(can_see_cache_metrics)(self.user)
            if self.closed:
                return
            if not allowed:
                self._error(op_id, FORBIDDEN, "Only mentors and staff see the metrics.")
                return
            op = _Operation(self, op_id, prepared, None)
            self.operations[op_id] = op
            conn = op.attach(hub, self.user)
            await self._hub_call(hub.subscribe_metrics(conn, None))
            # The latest sample at once, also before any sampler has published one (the
            # hub's own is then the same sample, sent once).
            overview = await sync_to_async(cache_metrics_overview)(history=0)
            op.next_sample(overview["current"])
            return
        after = args.get("afterSeq")
        if after is not None and after < 0:
            self._error(op_id, BAD_USER_INPUT, "afterSeq is a seq (>= 0).")
            return
        cohort_id = parse_id(args.get("cohort"))
        viewer = None
        if cohort_id is not None:
            viewer = await database_sync_to_async(viewer_for)(user=self.user, cohort_id=cohort_id)
        if self.closed:
            return
        if cohort_id is None or viewer is None:
            self._error(op_id, NOT_FOUND, "No such cohort.")
            return
        op = _Operation(self, op_id, prepared, viewer)
        op.resync_after = after
        self.operations[op_id] = op
        conn = op.attach(hub, self.user)
        role = viewer_role(user=self.user, viewer=viewer)
        await self._hub_call(hub.subscribe_cohort(conn, cohort_id, role, after, None, viewer))

    async def _hub_call(self, call: Any) -> None:
        try:
            await call
        except LayerLost:
            self.close(protocol.CLOSE_SERVICE_RESTART)
