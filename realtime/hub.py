"""The per-process fan-out: one channel-layer subscription per topic, one encoding per event.

Why not one group membership per socket (the Channels tutorial way): that costs a task, a
JSON encoding and a thread hop per socket per event, and on Redis one subscription per
socket. Here each server process (each event loop) has one ``Hub``:

- one process channel (``layer.new_channel()``) joined to the group of a topic
  (``cohort.<id>``, ``metrics.cache``) when the first local socket subscribes and left when
  the last one goes;
- one receive loop that, per event, builds the frame text once (the event arrives already
  JSON-encoded by the publisher) and appends the same string to every local socket's
  bounded outbox, without awaiting anything: a full outbox closes that socket with 4408 and
  costs the others nothing;
- per topic a sequencer that passes events on strictly in ``seq`` order: an event that
  arrives early waits for the missing ones, which are read from the database at once (a
  publish lost while Redis was down, or two publishers racing) - once per process, not
  once per socket;
- one writer task per socket that drains its outbox through the raw ASGI ``send``;
- one sweep task for idle and unauthenticated sockets, one for presence heartbeats and
  expiry, and with Redis a health probe that closes every socket with 1012 when the layer
  is lost.

Privacy by role (``dashboard/selectors/privacy.py``): an event has a full form (mentors,
staff, and the learner it is about) and a redacted one (every other learner). Each
subscription knows its ``Viewer``; the redacted form is made lazily, once per event per
process, the first time a fan-out meets a learner it applies to, and the native send
writes each form's bytes to its own list of sockets. So the cost stays one encoding per
event per audience, not per socket. A replay is read for one socket and redacted for it.

Recovery (``subscribe`` with ``since``): the socket is registered (buffering) and the
topic's subscription proven live (a probe sent through the group came back) *before* the
head and the replay are read from the database; then ``subscribed``, the replay, and the
buffered live events newer than what was sent, each socket dropping seqs it already has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from array import array
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.utils import timezone

from dashboard import prometheus
from realtime import protocol
from realtime.presence import MemoryPresence, RedisPresence, presence_store
from realtime.protocol import PresenceEntry, UserRef
from realtime.runtime import HeapPolicy
from realtime.uvicorn_ws import direct_socket

if TYPE_CHECKING:
    from dashboard.selectors.privacy import Viewer

try:  # the fan-out's sends in C with the GIL released (setup.py; optional)
    from realtime._sendmany import send_many
except ImportError:  # pragma: no cover - built by ``pip install``; without it, transports
    send_many = None

logger = logging.getLogger(__name__)

# Layer message types (the hub is the only reader of its process channel).
MSG_EVENT = "rt.event"
MSG_PRESENCE = "rt.presence"
MSG_METRICS = "rt.metrics"
MSG_PROBE = "rt.probe"

METRICS_GROUP = "metrics.cache"

# Sockets served between two yields to the event loop during one event's fan-out.
FANOUT_SLICE = 256

# Seconds the hub's shutdown waits on each of its steps (``Hub.stop``).
STOP_WAIT = 2.0


def cohort_group(cohort_id: int) -> str:
    return f"cohort.{cohort_id}"


class LayerLost(Exception):
    """The channel layer cannot be reached: sockets are closed with 1012."""


# --------------------------------------------------------------------------------------
# Database reads (through selectors, in the ORM thread)
# --------------------------------------------------------------------------------------


def _read_head(cohort_id: int) -> int:
    from dashboard.selectors.cohorts import events_after

    _, head = events_after(cohort_id=cohort_id, after=0, limit=0)
    return head


def _as_published(event: Any) -> str:
    """Encode a logged event; ``events_after`` gives it as it was published (reaction
    counts 0), so a replayed or gap-filled event looks exactly like the live one did."""
    return protocol.dumps(event)


def _read_replay(
    cohort_id: int, since: int, limit: int, viewer: Any = None
) -> tuple[int, list[str] | None]:
    """Return the head and the encoded events ``since < seq <= head`` as ``viewer`` may
    see them, or None when the replay is impossible: over ``limit`` events, ``since``
    ahead of the head, or rows gone."""
    from dashboard.selectors.cohorts import events_after

    events, head = events_after(cohort_id=cohort_id, after=since, limit=limit, viewer=viewer)
    if since > head or head - since > limit:
        return head, None
    out = [_as_published(e) for e in events]
    last = events[-1]["seq"] if events else since
    while last < head:
        page, _ = events_after(cohort_id=cohort_id, after=last, limit=limit, viewer=viewer)
        page = [e for e in page if e["seq"] <= head]
        if not page:
            break
        out.extend(_as_published(e) for e in page)
        last = page[-1]["seq"]
    if len(out) != head - since:  # the log was reset or pruned
        return head, None
    return head, out


def _read_range(cohort_id: int, after: int, upto: int) -> list[tuple[int, str]]:
    """Return the encoded events ``after < seq <= upto`` that the database has."""
    from dashboard.selectors.cohorts import events_after

    out: list[tuple[int, str]] = []
    while after < upto:
        page, _ = events_after(cohort_id=cohort_id, after=after, limit=upto - after)
        page = [e for e in page if e["seq"] <= upto]
        if not page:
            break
        out.extend((e["seq"], _as_published(e)) for e in page)
        after = page[-1]["seq"]
    return out


def _latest_metrics() -> dict[str, Any] | None:
    from dashboard.cache_metrics import latest_sample

    return latest_sample()


# --------------------------------------------------------------------------------------
# Connections and subscriptions
# --------------------------------------------------------------------------------------


def wire(text: str) -> bytes:
    """Return ``text`` as one unmasked WebSocket text frame (server to client)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


class Connection:
    """One socket as the hub sees it: a bounded outbox drained by one writer task.

    Where uvicorn's socket allows it (realtime/uvicorn_ws.py decides: no compression
    negotiated; for the native send also no TLS) a frame is written straight to the
    socket's transport while it is writable and nothing is queued: the frame bytes are
    built once per event and shared by every socket, so a delivery costs one
    ``transport.write``. A socket whose transport pushes back gets its frames queued (in
    order) and drained by its writer through the ASGI ``send``.
    """

    __slots__ = (
        "auth_deadline",
        "close_sent",
        "closed",
        "direct",
        "fd",
        "hub",
        "last_rx",
        "on_closed",
        "outbox",
        "queue_limit",
        "role_cache",
        "send",
        "subs",
        "user",
        "user_entry",
        "waiter",
        "writer",
    )

    def __init__(self, hub: Hub, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.hub = hub
        self.send = send
        self.outbox: deque[str] = deque()
        self.queue_limit = int(settings.WS_SEND_QUEUE)
        self.waiter: asyncio.Future[None] | None = None
        self.writer: asyncio.Task[None] | None = None
        self.closed = False
        self.close_sent = False
        self.user: Any = None
        self.user_entry: UserRef | None = None
        self.subs: dict[str, Subscription] = {}
        self.role_cache: dict[int, str] = {}
        now = hub.loop.time()
        self.last_rx = now
        self.auth_deadline: float | None = now + float(settings.WS_AUTH_TIMEOUT)
        self.on_closed: Callable[[], None] | None = None
        native = send_many is not None and bool(settings.WS_NATIVE_SEND)
        self.direct = direct_socket(send, native=native)
        # The socket's descriptor when fan-outs may write to it natively (-1: never).
        self.fd = self.direct.fd if self.direct is not None else -1

    def writable_now(self) -> bool:
        """Whether bytes written to the socket now go out in order: the socket is open
        and nothing is queued before them (in the outbox or the transport's buffer)."""
        direct = self.direct
        if self.closed or self.outbox or direct is None:
            return False
        return direct.ready() and not direct.transport.get_write_buffer_size()

    # Sending ---------------------------------------------------------------------------

    def push(self, text: str, frame: bytes | None = None) -> None:
        """Send or queue one frame; never blocks. A socket too far behind is closed.

        ``frame`` is ``wire(text)`` when the caller shares it between sockets.
        """
        if self.closed:
            return
        direct = self.direct
        if direct is not None and not self.outbox and direct.ready():
            direct.transport.write(frame if frame is not None else wire(text))
            self.hub.frames_pushed += 1
            return
        if len(self.outbox) >= self.queue_limit:
            logger.info("closing a slow socket (%s frames queued)", len(self.outbox))
            self.close_soon(protocol.CLOSE_SLOW_CONSUMER)
            return
        self.outbox.append(text)
        self.hub.frames_pushed += 1
        if self.writer is None:  # started on first use: an idle socket costs no task
            self.writer = self.hub.loop.create_task(self._write_loop())
            return
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def push_many(self, events: list[tuple[int, str, bytes]]) -> None:
        """Send or queue several frames (in order), in one write when it can be direct."""
        direct = self.direct
        if direct is not None and not self.closed and not self.outbox and direct.ready():
            direct.transport.write(b"".join(frame for _, _, frame in events))
            self.hub.frames_pushed += len(events)
            return
        for _, text, frame in events:
            self.push(text, frame)

    def push_frame(self, frame: Any) -> None:
        self.push(protocol.dumps(frame))

    async def _write_loop(self) -> None:
        outbox = self.outbox
        send = self.send
        loop = self.hub.loop
        try:
            while True:
                if not outbox:
                    waiter = self.waiter = loop.create_future()
                    await waiter
                    continue
                await send({"type": "websocket.send", "text": outbox.popleft()})
        except asyncio.CancelledError:
            raise
        except Exception:
            # The peer is gone (the server raises on a send after disconnect).
            logger.debug("socket writer stopped", exc_info=True)
            self.close_sent = True
            self.hub.detach(self)

    def close_soon(self, code: int) -> asyncio.Task[None] | None:
        """Forget the socket at once and send the close frame in the background."""
        if self.close_sent:
            return None
        self.close_sent = True
        self.hub.detach(self)
        prometheus.ws_closed(code)
        return self.hub.loop.create_task(self._send_close(code))

    async def close(self, code: int) -> None:
        """Close the socket with ``code`` and forget it; idempotent."""
        task = self.close_soon(code)
        if task is not None:
            await task

    async def _send_close(self, code: int) -> None:
        # A stuck peer may never let the close frame through: wait on it briefly, then
        # drop the connection, or it would linger with its buffers until the peer leaves.
        try:
            await asyncio.wait_for(self.send({"type": "websocket.close", "code": code}), 2.0)
        except Exception:
            if self.direct is not None:
                self.direct.transport.abort()


class Subscription:
    """One socket on one topic: buffering until its replay is sent, then live."""

    __slots__ = ("buffer", "conn", "known", "last_seq", "live", "pushed", "topic", "viewer")

    def __init__(self, conn: Connection, topic: Topic, viewer: Viewer | None = None) -> None:
        self.conn = conn
        self.topic = topic
        # What this socket may see of scores and risk (None: everything, as for mentors).
        self.viewer = viewer
        self.live = False
        self.last_seq = 0  # events up to here are covered (sent, or before ``seq``)
        self.pushed = 0  # the newest event actually queued to the socket
        # Events as (seq, frame text); presence diffs as (None, layer message).
        self.buffer: list[tuple[int | None, Any]] = []
        # The people this socket knows are present: diffs are filtered against it, so a
        # socket never hears of a join it already has in its ``subscribed`` list.
        self.known: set[int] = set()


class Topic:
    """A topic this process is subscribed to, with its local subscribers."""

    __slots__ = (
        "cohort_id",
        "filling",
        "group",
        "name",
        "next_seq",
        "pending",
        "ready",
        "subs",
        "version",
    )

    def __init__(self, name: str, group: str, cohort_id: int | None, loop: Any) -> None:
        self.name = name
        self.group = group
        self.cohort_id = cohort_id
        self.subs: set[Subscription] = set()
        self.version = 0  # bumped whenever ``subs`` changes
        self.ready: asyncio.Future[None] = loop.create_future()
        self.next_seq: int | None = None  # the next seq to pass on (cohorts)
        self.pending: dict[int, str] = {}  # events that arrived ahead of next_seq
        self.filling = False


# --------------------------------------------------------------------------------------
# The hub
# --------------------------------------------------------------------------------------


class _Audience:
    """The events of one fan-out batch as one audience gets them, and its native sends."""

    __slots__ = ("data", "direct", "events", "fds")

    def __init__(self, events: list[tuple[int, str, bytes]]) -> None:
        self.events = events  # (seq, frame text, frame bytes), in seq order
        self.data = events[0][2] if len(events) == 1 else b"".join(e[2] for e in events)
        self.fds = array("i")  # sockets of this slice that take ``data`` natively
        self.direct: list[Connection] = []


class _Forms:
    """One fan-out batch in every form a viewer may get (privacy by role).

    The full form is what was published. The redacted form (learners other than an
    event's subject) is made at most once per batch, the first time a learner's socket
    is met; a batch with nothing private (kudos, comments) gives learners the full form,
    bytes and native send included. A learner who is the subject of one of the batch's
    private events gets a mix of their own (the rare case: one socket per event).
    """

    __slots__ = ("_redacted", "first", "full", "last", "sources", "subjects", "topic")

    def __init__(self, topic: str, events: list[tuple[int, str, bytes]], sources: list[str]):
        self.topic = topic
        self.full = _Audience(events)
        self.sources = sources  # each event's JSON as published
        self.first, self.last = events[0][0], events[-1][0]
        self._redacted: _Audience | None = None
        self.subjects: dict[int, list[int]] = {}  # learner id -> indexes of their events

    def audience_for(self, viewer: Viewer | None) -> _Audience:
        if viewer is None or viewer.sees_all:
            return self.full
        redacted = self._redacted
        if redacted is None:
            redacted = self._redacted = self._redact()
        mine = self.subjects.get(viewer.learner_id) if viewer.learner_id is not None else None
        if not mine:
            return redacted
        mixed = list(redacted.events)
        for index in mine:
            mixed[index] = self.full.events[index]
        return _Audience(mixed)

    def _redact(self) -> _Audience:
        """Return the batch as learners see it; the full one when nothing is private."""
        from dashboard.selectors.privacy import event_subject, redacted_event

        events = list(self.full.events)
        changed = False
        for index, source in enumerate(self.sources):
            payload = json.loads(source)
            redacted = redacted_event(payload)
            if redacted is payload:
                continue
            changed = True
            subject = event_subject(payload)
            if subject is not None:
                self.subjects.setdefault(subject, []).append(index)
            text = protocol.event_frame_text(self.topic, protocol.dumps(redacted))
            events[index] = (events[index][0], text, wire(text))
        return _Audience(events) if changed else self.full


class _PresenceReads:
    """The snapshot reads of one cohort's presence: one in flight, the next one queued."""

    __slots__ = ("reading", "waiting")

    def __init__(self) -> None:
        self.reading: asyncio.Future[list[PresenceEntry]] | None = None  # in flight
        # The next read, open to new requests until it starts.
        self.waiting: asyncio.Future[list[PresenceEntry]] | None = None


class _PresenceDiffs:
    """Presence changes of one cohort waiting to be published, netted per person.

    A burst of joins (a class opening the dashboard at 9:00) is one message, not one per
    person: a thousand publishes at once timed out on a loaded machine. A join and a
    leave of the same person cancel out, so a message never holds both for one person.
    """

    __slots__ = ("changes",)

    def __init__(self) -> None:
        self.changes: dict[int, tuple[bool, PresenceEntry]] = {}  # user -> (joined, entry)

    def add(self, joined: bool, entry: PresenceEntry) -> None:
        uid = entry["user"]["id"]
        before = self.changes.get(uid)
        if before is not None and before[0] != joined:
            del self.changes[uid]  # back to what subscribers last heard
        else:
            self.changes[uid] = (joined, entry)

    def take(self) -> tuple[list[PresenceEntry], list[PresenceEntry]]:
        changes, self.changes = self.changes, {}
        joins = [entry for joined, entry in changes.values() if joined]
        leaves = [entry for joined, entry in changes.values() if not joined]
        return joins, leaves


class _NoHeapPolicy:
    def tick(self, sockets: int, opened: int, closed: int) -> None:
        return None

    def close(self) -> None:
        return None


class Hub:
    """The fan-out of one event loop (one server process)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer: Any = get_channel_layer()
        self.channel: str | None = None
        self.topics: dict[str, Topic] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.connections: set[Connection] = set()
        self.user_sockets: dict[int, int] = {}  # user id -> authenticated sockets here
        self.probes: dict[str, asyncio.Future[None]] = {}
        self.presence: MemoryPresence | RedisPresence = presence_store()
        self.local_presence: dict[tuple[int, int], list[Any]] = {}  # -> [count, entry]
        self.tasks: list[asyncio.Task[None]] = []
        self.presence_tasks: set[asyncio.Task[None]] = set()
        self.presence_reads: dict[int, _PresenceReads] = {}  # cohort -> its snapshot reads
        self.presence_diffs: dict[int, _PresenceDiffs] = {}  # cohort -> its unpublished changes
        # Queued fan-outs: (sockets, topic, topic version, [(seq, text, frame bytes)],
        # [each event's JSON], from which its redacted form is made when needed).
        self.fanout: deque[
            tuple[list[Subscription], Topic, int, list[tuple[int, str, bytes]], list[str]]
        ] = deque()
        self.fanout_task: asyncio.Task[None] | None = None
        # Deliveries written by ``send_many``, and those of them that came up short.
        self.native_sends = 0
        self.native_short_writes = 0
        # Frames written or queued (``push``) and written natively: /metrics reads them.
        self.frames_pushed = 0
        self.native_frames = 0
        self.started = False
        self.stopping = False
        self._start_lock = asyncio.Lock()
        self.healthy = True
        # Sockets are long-lived: keep their objects out of full collections, step by
        # step as they open (realtime/runtime.py; HEAP_FREEZE=0 turns it off).
        self.heap: HeapPolicy | _NoHeapPolicy = (
            HeapPolicy() if settings.HEAP_FREEZE else _NoHeapPolicy()
        )
        # Sockets opened and closed so far: the heap policy's clock.
        self.sockets_opened = 0
        self.sockets_closed = 0

    # Life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        async with self._start_lock:
            if self.started:
                return
            self.channel = await self.layer.new_channel("realtime.")
            self.started = True
            spawn = self.loop.create_task
            self.tasks = [
                spawn(self._receive_loop(), name="realtime-receive"),
                spawn(self._sweep_loop(), name="realtime-sweep"),
                spawn(self._presence_loop(), name="realtime-presence"),
            ]
            if not isinstance(self.layer, InMemoryChannelLayer):
                self.tasks.append(spawn(self._health_loop(), name="realtime-health"))

    async def stop(self) -> None:
        """Close every socket (1001), say goodbye in presence, leave the groups.

        Every wait is bounded by ``STOP_WAIT``: a peer that does not read, or a layer stuck
        in its own clean-up (channels-redis unsubscribes when its ``receive`` is
        cancelled, and waits on a Redis that may have stopped answering), is left behind
        rather than holding up the server's shutdown.
        """
        self.stopping = True
        closing = [conn.close_soon(protocol.CLOSE_GOING_AWAY) for conn in list(self.connections)]
        await _settle([task for task in closing if task is not None], "closing sockets")
        if self.presence_tasks:  # say goodbye before the presence client closes
            await _settle(list(self.presence_tasks), "presence goodbyes")
        for task in self.tasks:
            task.cancel()
        await _settle(self.tasks, "the hub's loops")
        self.tasks = []
        self.heap.close()  # the sweep that ran the collector's schedule has stopped
        if self.fanout_task is not None:
            self.fanout_task.cancel()
        self.fanout.clear()
        await _settle(
            [self.layer.group_discard(topic.group, self.channel) for topic in self.topics.values()],
            "leaving the groups",
        )
        self.topics.clear()
        await _settle([self.presence.close()], "closing presence")
        self.started = False

    # Connections -----------------------------------------------------------------------

    def connect(self, send: Callable[[dict[str, Any]], Awaitable[None]]) -> Connection:
        conn = Connection(self, send)
        self.connections.add(conn)
        self.sockets_opened += 1
        return conn

    def user_socket_add(self, conn: Connection) -> bool:
        """Count an authenticated socket of ``conn.user``; False when the user has more
        than ``WS_MAX_SOCKETS_PER_USER`` in this process (0: no cap): close it."""
        user_id = conn.user.pk
        count = self.user_sockets[user_id] = self.user_sockets.get(user_id, 0) + 1
        cap = int(settings.WS_MAX_SOCKETS_PER_USER)
        return cap <= 0 or count <= cap

    def detach(self, conn: Connection) -> None:
        """Forget a socket: its subscriptions, presence and writer. Idempotent, sync."""
        if conn.closed:
            return
        conn.closed = True
        self.connections.discard(conn)
        if conn.user_entry is not None:  # counted by ``user_socket_add``
            user_id = conn.user.pk
            left = self.user_sockets.get(user_id, 1) - 1
            if left > 0:
                self.user_sockets[user_id] = left
            else:
                self.user_sockets.pop(user_id, None)
        self.sockets_closed += 1
        for name in list(conn.subs):
            self._drop_subscription(conn, name)
        if conn.writer is not None and conn.writer is not asyncio.current_task():
            conn.writer.cancel()
        if conn.on_closed is not None:
            conn.on_closed()

    # Subscriptions ---------------------------------------------------------------------

    async def subscribe_cohort(
        self,
        conn: Connection,
        cohort_id: int,
        role: str,
        since: int | None,
        ref: Any,
        viewer: Viewer | None = None,
        budget: Any = None,
    ) -> None:
        """Subscribe ``conn`` to the cohort; ``viewer`` says what it may see of scores
        and risk (None: everything); ``budget`` is the socket's replay budget in events
        (``allow(n)``, ``spend(n)``; None: unbounded)."""
        name = protocol.cohort_topic(cohort_id)
        previous = conn.subs.get(name)
        topic = self._topic(name, cohort_group(cohort_id), cohort_id)
        sub = Subscription(conn, topic, viewer)
        topic.subs.add(sub)
        topic.version += 1
        conn.subs[name] = sub
        # Join presence before leaving the old subscription: a re-subscribe is no leave.
        self._presence_add(cohort_id, conn, role)
        if previous is not None:
            topic.subs.discard(previous)
            topic.version += 1
            self._presence_remove(cohort_id, conn)
        await self._await_ready(topic)
        replay: list[str] | None = None
        live_head = topic.next_seq - 1 if topic.next_seq is not None else None
        if live_head is not None and (since is None or since == live_head):
            # Every event up to ``live_head`` has been passed on to this process's
            # sockets and every later one will be: a consistent head without a query.
            head = live_head
            replay = None if since is None else []
        elif since is None or (
            budget is not None
            and not budget.allow(max(1, live_head - since) if live_head is not None else 1)
        ):
            # No replay asked, or this socket replayed too much lately (a client that
            # loops subscribe/unsubscribe): recovered false, the client loads a snapshot.
            if live_head is not None:
                head = live_head
            else:
                head = await database_sync_to_async(_read_head)(cohort_id)
        else:
            head, replay = await database_sync_to_async(_read_replay)(
                cohort_id, since, int(settings.WS_REPLAY_MAX), viewer
            )
            if budget is not None and live_head is None and replay:
                budget.spend(len(replay) - 1)  # what the estimate of 1 left out
        entries = await self._presence_list(cohort_id)
        if conn.closed or conn.subs.get(name) is not sub:
            return  # closed or unsubscribed meanwhile
        frame: protocol.SubscribedFrame = {
            "type": "subscribed",
            "topic": name,
            "seq": head,
            "recovered": replay is not None,
            "presence": entries,
        }
        if ref is not None:
            frame["ref"] = ref
        conn.push_frame(frame)
        if since is not None:
            prometheus.ws_recovery(replay is not None)
        if replay and previous is not None and previous.live:
            # A re-subscribe on the same socket: events the old subscription already
            # queued (sent before this ``subscribed``) are not sent twice.
            replay = replay[max(0, previous.pushed - since) :]  # type: ignore[operator]
        if replay:
            for start in range(0, len(replay), 100):
                conn.push(protocol.events_frame_text(name, replay[start : start + 100]))
            sub.pushed = head
        sub.known = {entry["user"]["id"] for entry in entries}
        last = head
        for seq, item in sub.buffer:
            if seq is None:
                text = self._presence_text(sub, item, None)
                if text is not None:
                    conn.push(text)
            elif seq > last:
                conn.push(item)
                last = sub.pushed = seq
        sub.buffer = []
        sub.last_seq = last
        sub.live = True

    async def subscribe_metrics(self, conn: Connection, ref: Any) -> None:
        name = protocol.METRICS_TOPIC
        topic = self._topic(name, METRICS_GROUP, None)
        sub = Subscription(conn, topic)
        topic.subs.add(sub)
        topic.version += 1
        conn.subs[name] = sub
        await self._await_ready(topic)
        sample = await sync_to_async(_latest_metrics)()
        if conn.closed or conn.subs.get(name) is not sub:
            return
        frame: protocol.SubscribedFrame = {"type": "subscribed", "topic": name}
        if ref is not None:
            frame["ref"] = ref
        conn.push_frame(frame)
        if sample is not None:
            conn.push(protocol.metrics_frame_text(protocol.dumps(sample)))
        for _, text in sub.buffer:
            conn.push(text)
        sub.buffer = []
        sub.live = True

    def unsubscribe(self, conn: Connection, name: str) -> bool:
        if name not in conn.subs:
            return False
        self._drop_subscription(conn, name)
        return True

    def _drop_subscription(self, conn: Connection, name: str) -> None:
        sub = conn.subs.pop(name, None)
        if sub is None:
            return
        topic = sub.topic
        topic.subs.discard(sub)
        topic.version += 1
        if topic.cohort_id is not None:
            self._presence_remove(topic.cohort_id, conn)
        if not topic.subs:
            self.loop.create_task(self._maybe_leave(topic))

    def _topic(self, name: str, group: str, cohort_id: int | None) -> Topic:
        topic = self.topics.get(name)
        if topic is None:
            topic = self.topics[name] = Topic(name, group, cohort_id, self.loop)
            self.loop.create_task(self._establish(topic))
        return topic

    async def _await_ready(self, topic: Topic) -> None:
        await asyncio.shield(topic.ready)

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self.locks.get(name)
        if lock is None:
            lock = self.locks[name] = asyncio.Lock()
        return lock

    async def _establish(self, topic: Topic) -> None:
        """Join the topic's group and prove the subscription live with a probe."""
        try:
            async with self._lock(topic.name):
                await self.start()
                timeout = float(settings.REALTIME_HEALTH_TIMEOUT)
                await asyncio.wait_for(self.layer.group_add(topic.group, self.channel), timeout)
                await asyncio.wait_for(self._probe(topic.group), timeout)
                if topic.cohort_id is not None:
                    head = await database_sync_to_async(_read_head)(topic.cohort_id)
                    topic.next_seq = head + 1
                    self._drain(topic)
            if not topic.ready.done():
                topic.ready.set_result(None)
        except Exception as exc:
            logger.warning("subscribing this process to %s failed: %r", topic.group, exc)
            if self.topics.get(topic.name) is topic:
                del self.topics[topic.name]
            if not topic.ready.done():
                topic.ready.set_exception(LayerLost(str(exc)))
                topic.ready.exception()  # retrieved: waiters get it through shield

    async def _maybe_leave(self, topic: Topic) -> None:
        async with self._lock(topic.name):
            if topic.subs or self.topics.get(topic.name) is not topic:
                return
            with contextlib.suppress(asyncio.CancelledError, asyncio.InvalidStateError):
                await asyncio.shield(topic.ready)
            if topic.subs or self.topics.get(topic.name) is not topic:
                return
            del self.topics[topic.name]
            try:
                await asyncio.wait_for(
                    self.layer.group_discard(topic.group, self.channel),
                    float(settings.REALTIME_HEALTH_TIMEOUT),
                )
            except Exception:
                logger.info("leaving %s failed (layer down?)", topic.group, exc_info=True)

    async def _probe(self, group: str | None) -> None:
        """Send a probe (to a group, or to this process) and wait for it to come back."""
        token = uuid.uuid4().hex
        future: asyncio.Future[None] = self.loop.create_future()
        self.probes[token] = future
        try:
            message = {"type": MSG_PROBE, "token": token}
            if group is None:
                await self.layer.send(self.channel, message)
            else:
                await self.layer.group_send(group, message)
            await future
        finally:
            self.probes.pop(token, None)

    # Receiving -------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        layer = self.layer
        channel = self.channel
        while True:
            try:
                message = await layer.receive(channel)
                kind = message.get("type")
                if kind == MSG_EVENT:
                    self._on_event(message["cohort"], message["seq"], message["json"])
                elif kind == MSG_PRESENCE:
                    self._on_presence(message)
                elif kind == MSG_METRICS:
                    self._on_metrics(message["json"])
                elif kind == MSG_PROBE:
                    future = self.probes.get(message.get("token", ""))
                    if future is not None and not future.done():
                        future.set_result(None)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("realtime receive loop")
                await asyncio.sleep(0.1)

    def _on_event(self, cohort_id: int, seq: int, event_json: str) -> None:
        topic = self.topics.get(protocol.cohort_topic(cohort_id))
        if topic is None:
            return
        if topic.next_seq is not None and seq < topic.next_seq:
            return  # already passed on (a replayed or duplicated publish)
        topic.pending[seq] = event_json
        self._drain(topic)

    def _drain(self, topic: Topic) -> None:
        """Pass on the pending events that are next in seq order; fill a gap from the DB."""
        if topic.next_seq is None:
            return
        pending = topic.pending
        for seq in [s for s in pending if s < topic.next_seq]:
            del pending[seq]
        while topic.next_seq in pending:
            seq = topic.next_seq
            topic.next_seq = seq + 1
            self._deliver(topic, seq, pending.pop(seq))
        if pending and not topic.filling:
            topic.filling = True
            self.loop.create_task(self._fill_gap(topic))

    async def _fill_gap(self, topic: Topic) -> None:
        """Read the events missing before the pending ones from the database, once."""
        try:
            while topic.pending and topic.next_seq is not None and topic.cohort_id is not None:
                after = topic.next_seq - 1
                upto = min(topic.pending) - 1
                if upto <= after:
                    self._drain_after_fill(topic)
                    continue
                prometheus.ws_resync()
                rows = await database_sync_to_async(_read_range)(topic.cohort_id, after, upto)
                if topic.next_seq is None:
                    return
                for seq, text in rows:
                    if seq >= topic.next_seq:
                        topic.pending.setdefault(seq, text)
                if topic.next_seq != after + 1:
                    # Live events moved the head while the database was read (the
                    # missing one arrived late, as when two processes publish): this read
                    # no longer covers the gap as it is now. Look again; skip nothing.
                    self._drain_after_fill(topic)
                    continue
                if topic.next_seq not in topic.pending and topic.pending:
                    # Not in the database (the log was reset): skip ahead rather than stall.
                    logger.warning(
                        "events %s..%s of cohort %s are gone; skipping",
                        topic.next_seq,
                        min(topic.pending) - 1,
                        topic.cohort_id,
                    )
                    topic.next_seq = min(topic.pending)
                self._drain_after_fill(topic)
        except Exception:
            logger.warning("gap fill of %s failed", topic.name, exc_info=True)
        finally:
            topic.filling = False

    def _drain_after_fill(self, topic: Topic) -> None:
        pending = topic.pending
        assert topic.next_seq is not None
        while topic.next_seq in pending:
            seq = topic.next_seq
            topic.next_seq = seq + 1
            self._deliver(topic, seq, pending.pop(seq))

    def _deliver(self, topic: Topic, seq: int, event_json: str) -> None:
        """Queue one event's fan-out to the topic's sockets of this moment, in seq order."""
        text = protocol.event_frame_text(topic.name, event_json)
        frame = wire(text)  # the frame's bytes, once for every socket of this process
        fanout = self.fanout
        if fanout and fanout[-1][1] is topic and fanout[-1][2] == topic.version:
            # Behind: this event joins the queued fan-out of the same sockets, and each
            # socket gets the events of the batch in one write.
            fanout[-1][3].append((seq, text, frame))
            fanout[-1][4].append(event_json)
        else:
            batch = (list(topic.subs), topic, topic.version, [(seq, text, frame)], [event_json])
            fanout.append(batch)
        if self.fanout_task is None:
            self.fanout_task = self.loop.create_task(self._fanout_loop())

    async def _fanout_loop(self) -> None:
        """Hand each event to its sockets, yielding to the loop every ``FANOUT_SLICE``
        sockets: a fan-out to thousands never holds the loop (HTTP, the ORM thread's
        hand-offs) for more than a few milliseconds. Events go out in the order queued."""
        fanout = self.fanout
        try:
            while fanout:
                subs, topic, _, events, sources = fanout.popleft()
                started = self.loop.time()
                forms = _Forms(topic.name, events, sources)
                for start in range(0, len(subs), FANOUT_SLICE):
                    if start:
                        await asyncio.sleep(0)
                    self._fan_slice(subs[start : start + FANOUT_SLICE], forms)
                prometheus.fanout_done(len(subs), len(events), self.loop.time() - started)
        finally:
            self.fanout_task = None

    def _fan_slice(self, subs: list[Subscription], forms: _Forms) -> None:
        """Pass a batch of events (in seq order) to ``subs``, each in the form its viewer
        may see (``_Forms``).

        Each live socket gets the events it does not have yet. Those that can take bytes at
        once get their audience's bytes in one native call per audience for the whole slice
        (``send_many``, the GIL released for the system calls); the rest, and all when the
        extension is missing, go through ``Connection.push``. A socket still replaying
        buffers the events.
        """
        first, last = forms.first, forms.last
        audiences: list[_Audience] = []
        for sub in subs:
            conn = sub.conn
            audience = forms.audience_for(sub.viewer)
            events = audience.events
            if not sub.live:
                if not conn.closed:
                    sub.buffer.extend((seq, text) for seq, text, _ in events)
                continue
            if last <= sub.last_seq:
                continue
            if first > sub.last_seq:  # all of them are new to it: the common case
                sub.last_seq = sub.pushed = last
                if conn.fd >= 0 and conn.writable_now():
                    if not audience.direct:
                        audiences.append(audience)
                    audience.fds.append(conn.fd)
                    audience.direct.append(conn)
                elif len(events) == 1:
                    conn.push(events[0][1], audience.data)
                else:
                    conn.push_many(events)
                continue
            fresh = [e for e in events if e[0] > sub.last_seq]
            sub.last_seq = sub.pushed = fresh[-1][0]
            conn.push_many(fresh)
        for audience in audiences:
            self._send_native(audience)

    def _send_native(self, audience: _Audience) -> None:
        """Write the audience's bytes to its sockets in one native call, then forget them."""
        assert send_many is not None
        data, direct = audience.data, audience.direct
        # No await between the checks in ``_fan_slice`` and these writes: every socket is
        # still open and its descriptor still its own. One that took less than all gets the
        # rest through its transport (queued in order, or the error seen as on any write).
        short = send_many(audience.fds, data)
        for index, sent in short:
            direct[index].direct.transport.write(data[sent:])
        self.native_sends += len(direct)
        self.native_frames += len(direct) * len(audience.events)
        self.native_short_writes += len(short)
        audience.fds = array("i")
        audience.direct = []

    def _fan_out(self, topic: Topic, text: str) -> None:
        frame = wire(text)
        # A copy: a push can close a slow socket, which leaves the topic's set.
        for sub in tuple(topic.subs):
            if sub.live:
                sub.conn.push(text, frame)
            else:
                sub.buffer.append((None, text))

    def _on_presence(self, message: dict[str, Any]) -> None:
        topic = self.topics.get(protocol.cohort_topic(message["cohort"]))
        if topic is None:
            return
        full = self._presence_frame(topic.name, message["joins"], message["leaves"])
        for sub in tuple(topic.subs):  # a push can close a slow socket (see _fan_out)
            if sub.live:
                text = self._presence_text(sub, message, full)
                if text is not None:
                    sub.conn.push(text)
            else:
                sub.buffer.append((None, message))

    @staticmethod
    def _presence_frame(name: str, joins: list[Any], leaves: list[Any]) -> str:
        frame: protocol.PresenceFrame = {
            "type": "presence",
            "topic": name,
            "joins": joins,
            "leaves": leaves,
        }
        return protocol.dumps(frame)

    def _presence_text(
        self, sub: Subscription, message: dict[str, Any], full: str | None
    ) -> str | None:
        """Return the diff as this socket should see it (None: nothing new to it)."""
        known = sub.known
        joins = [e for e in message["joins"] if e["user"]["id"] not in known]
        leaves = [e for e in message["leaves"] if e["user"]["id"] in known]
        known.update(e["user"]["id"] for e in joins)
        known.difference_update(e["user"]["id"] for e in leaves)
        if not joins and not leaves:
            return None
        if full is not None and len(joins) + len(leaves) == len(message["joins"]) + len(
            message["leaves"]
        ):
            return full  # the common case: the one shared encoding
        return self._presence_frame(sub.topic.name, joins, leaves)

    def _on_metrics(self, sample_json: str) -> None:
        topic = self.topics.get(protocol.METRICS_TOPIC)
        if topic is not None:
            self._fan_out(topic, protocol.metrics_frame_text(sample_json))

    # Publishing (on this loop) ---------------------------------------------------------

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send to a group; failures are logged (recovery covers lost events)."""
        try:
            await asyncio.wait_for(
                self.layer.group_send(group, message), float(settings.REALTIME_PUBLISH_TIMEOUT)
            )
        except Exception as exc:
            logger.warning("publish to %s failed: %r", group, exc)

    # Presence --------------------------------------------------------------------------

    def _presence_add(self, cohort_id: int, conn: Connection, role: str) -> None:
        assert conn.user_entry is not None
        key = (cohort_id, conn.user_entry["id"])
        slot = self.local_presence.get(key)
        if slot is not None:
            slot[0] += 1
            return
        entry: PresenceEntry = {
            "user": conn.user_entry,
            "role": role,
            "since": protocol.iso_ms(timezone.now()) or "",
        }
        done: asyncio.Future[None] = self.loop.create_future()
        self.local_presence[key] = [1, entry, done]
        self._presence_task(self._presence_join(cohort_id, entry, done))

    def _presence_remove(self, cohort_id: int, conn: Connection) -> None:
        assert conn.user_entry is not None
        key = (cohort_id, conn.user_entry["id"])
        slot = self.local_presence.get(key)
        if slot is None:
            return
        slot[0] -= 1
        if slot[0] <= 0:
            del self.local_presence[key]
            self._presence_task(self._presence_leave(cohort_id, key[1], slot[2]))

    def _presence_task(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self.presence_tasks.add(task)
        task.add_done_callback(self.presence_tasks.discard)

    async def _presence_join(
        self, cohort_id: int, entry: PresenceEntry, done: asyncio.Future[None]
    ) -> None:
        try:
            joined = await self.presence.join(cohort_id, entry)
            if joined is not None:
                self._presence_publish(cohort_id, joined, joined=True)
        except Exception as exc:
            logger.warning("presence join failed: %r", exc)
        finally:
            if not done.done():
                done.set_result(None)

    async def _presence_leave(
        self, cohort_id: int, user_id: int, joined: asyncio.Future[None]
    ) -> None:
        await joined  # a leave never overtakes its join
        try:
            left = await self.presence.leave(cohort_id, user_id)
            if left is not None:
                self._presence_publish(cohort_id, left, joined=False)
        except Exception as exc:
            logger.warning("presence leave failed: %r", exc)

    async def _presence_list(self, cohort_id: int) -> list[PresenceEntry]:
        """Return the cohort's viewers from a store read started after this call's joins.

        Concurrent calls share reads: a call joins the next read to start, so one cohort
        has at most one read in flight per process. A read per call ran the Redis pool
        dry when thousands of sockets subscribed at once, and those got no presence.
        """
        for (cid, _), slot in list(self.local_presence.items()):
            if cid == cohort_id:
                await slot[2]  # this process's own joins are in the list
        reads = self.presence_reads.get(cohort_id)
        if reads is None:
            reads = self.presence_reads[cohort_id] = _PresenceReads()
            self._presence_task(self._presence_reader(cohort_id, reads))
        if reads.waiting is None:
            reads.waiting = self.loop.create_future()
        # Shielded: a subscriber that goes away must not cancel the others' read.
        return list(await asyncio.shield(reads.waiting))

    async def _presence_reader(self, cohort_id: int, reads: _PresenceReads) -> None:
        """Read the cohort's presence while requests wait; [] to all waiters of a failure."""
        try:
            while reads.waiting is not None:
                # From here on new requests wait for the next read: this one may have
                # started before their joins were in the store.
                reads.reading, reads.waiting = reads.waiting, None
                try:
                    entries = await self.presence.snapshot(cohort_id)
                except Exception as exc:
                    logger.warning("presence snapshot failed: %r", exc)
                    entries = []
                if not reads.reading.done():
                    reads.reading.set_result(entries)
        finally:
            if self.presence_reads.get(cohort_id) is reads:
                del self.presence_reads[cohort_id]
            for waiters in (reads.reading, reads.waiting):
                if waiters is not None and not waiters.done():
                    waiters.set_result([])  # the reader was cancelled: never leave them hanging

    def _presence_publish(self, cohort_id: int, entry: PresenceEntry, *, joined: bool) -> None:
        """Queue a join or leave for the cohort's next presence message.

        One publisher per cohort at a time: changes that arrive while it publishes go out
        together in the next message, in order after it.
        """
        diffs = self.presence_diffs.get(cohort_id)
        if diffs is None:
            diffs = self.presence_diffs[cohort_id] = _PresenceDiffs()
            self._presence_task(self._presence_publisher(cohort_id, diffs))
        diffs.add(joined, entry)

    async def _presence_publisher(self, cohort_id: int, diffs: _PresenceDiffs) -> None:
        try:
            while diffs.changes:
                joins, leaves = diffs.take()
                if joins or leaves:
                    message = {"type": MSG_PRESENCE, "cohort": cohort_id}
                    await self.group_send(
                        cohort_group(cohort_id), {**message, "joins": joins, "leaves": leaves}
                    )
        finally:
            del self.presence_diffs[cohort_id]

    async def _presence_loop(self) -> None:
        """Refresh this process's viewers and expire those of dead processes."""
        heartbeat = float(settings.PRESENCE_HEARTBEAT)
        sweep_every = float(settings.PRESENCE_SWEEP)
        next_sweep = self.loop.time() + sweep_every
        while True:
            await asyncio.sleep(min(heartbeat, sweep_every))
            try:
                entries = [(cid, slot[1]) for (cid, _), slot in self.local_presence.items()]
                for cohort_id, entry in await self.presence.heartbeat(entries):
                    self._presence_publish(cohort_id, entry, joined=True)
                if self.loop.time() >= next_sweep:
                    next_sweep = self.loop.time() + sweep_every
                    for cohort_id, entry in await self.presence.sweep():
                        self._presence_publish(cohort_id, entry, joined=False)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("presence heartbeat failed: %r", exc)

    # Liveness --------------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        """Close sockets idle too long (1001) or not authenticated in time (4401)."""
        while True:
            await asyncio.sleep(float(settings.WS_SWEEP_INTERVAL))
            now = self.loop.time()
            idle = float(settings.WS_IDLE_TIMEOUT)
            for conn in list(self.connections):
                if conn.auth_deadline is not None and now >= conn.auth_deadline:
                    conn.close_soon(protocol.CLOSE_UNAUTHENTICATED)
                elif now - conn.last_rx >= idle:
                    conn.close_soon(protocol.CLOSE_GOING_AWAY)
            self.heap.tick(len(self.connections), self.sockets_opened, self.sockets_closed)
            prometheus.hub_sample()

    async def _health_loop(self) -> None:
        """Probe the layer through this process's channel; on loss close every socket 1012."""
        while True:
            await asyncio.sleep(float(settings.REALTIME_HEALTH_INTERVAL))
            try:
                await asyncio.wait_for(self._probe(None), float(settings.REALTIME_HEALTH_TIMEOUT))
                if not self.healthy:
                    logger.warning("the channel layer is back")
                self.healthy = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.healthy:
                    logger.error("the channel layer is lost (%r): closing sockets with 1012", exc)
                self.healthy = False
                self.layer_lost()

    def layer_lost(self) -> None:
        """Close every socket with 1012 and forget the topics: clients recover on return."""
        for conn in list(self.connections):
            conn.close_soon(protocol.CLOSE_SERVICE_RESTART)
        for topic in list(self.topics.values()):
            if not topic.ready.done():
                topic.ready.set_exception(LayerLost("channel layer lost"))
                topic.ready.exception()
        self.topics.clear()


# --------------------------------------------------------------------------------------
# The hub of the running loop, and of the server process for threads
# --------------------------------------------------------------------------------------

_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}
_server_loop: asyncio.AbstractEventLoop | None = None


async def _settle(aws: Iterable[Awaitable[Any]], what: str) -> None:
    """Wait up to ``STOP_WAIT`` for ``aws``; log and leave behind what is still running.

    Never raises: what failed is logged at debug level (the hub is going away).
    """
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=STOP_WAIT)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            logger.debug("stopping the hub: %s failed", what, exc_info=task.exception())
    if pending:
        logger.warning(
            "stopping the hub: %s, %d task(s) still running after %.0f s, left behind",
            what,
            len(pending),
            STOP_WAIT,
        )


def get_hub() -> Hub:
    """Return the hub of the running event loop, creating it on first use."""
    global _server_loop
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for old in [old for old in _hubs if old.is_closed()]:
            del _hubs[old]
        hub = _hubs[loop] = Hub(loop)
    _server_loop = loop
    return hub


def server_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop of this process's server, if one runs."""
    loop = _server_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


async def stop_hub() -> None:
    """Stop the hub of the running loop (server shutdown, end of a test)."""
    global _server_loop
    loop = asyncio.get_running_loop()
    hub = _hubs.pop(loop, None)
    if hub is not None:
        await hub.stop()
    if _server_loop is loop:
        _server_loop = None
