"""The per-process fan-out hub: one channel-layer subscription per topic, one encoding per event.

Why not one group membership per socket (the Channels tutorial way): that costs a task, a
JSON encoding and a thread hop per socket per event, and on Redis one subscription per
socket. Here each server process (each event loop) has one ``Hub``, which owns:

- the sockets (``Connection``, realtime/connection.py: a bounded outbox and one writer);
- the topics (realtime/topics.py): one process channel joined to the group of a topic
  (``cohort.<id>``, ``metrics.cache``) when the first local socket subscribes, left when
  the last one goes; per cohort a sequencer (realtime/sequencer.py) that passes events on
  in ``seq`` order and fills gaps from the database once per process;
- one receive loop (here) that dispatches each layer message: events to their topic's
  sequencer, metrics to the fan-out (realtime/fanout.py), presence diffs to the presence
  tracker (realtime/presence_tracking.py), probes back to the registry;
- subscribing with recovery (realtime/subscribing.py) and the upkeep loops (idle sweep,
  layer health: realtime/upkeep.py).

Privacy by role (``dashboard/selectors/privacy.py``): an event has a full form (mentors,
staff, and the learner it is about) and a redacted one (every other learner), made
lazily once per event per process by the fan-out. A replay is read once in full for the
sockets subscribing at the same ``since`` at once, and each gets its form of it.

The names callers used from this module (``Connection``, ``LayerLost``, ``wire``, the
layer message types...) are re-exported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from realtime import protocol, serverloop, subscribing, upkeep
from realtime.connection import Connection, wire
from realtime.fanout import FANOUT_SLICE, Fanout
from realtime.presence_tracking import PresenceTracker
from realtime.protocol import (
    METRICS_GROUP,
    MSG_EVENT,
    MSG_METRICS,
    MSG_PRESENCE,
    MSG_PROBE,
    cohort_group,
)
from realtime.runtime import HeapPolicy
from realtime.serverloop import server_loop
from realtime.topics import LayerLost, Subscription, Topic, Topics

if TYPE_CHECKING:
    from dashboard.selectors.privacy import Viewer

__all__ = [
    "FANOUT_SLICE",
    "METRICS_GROUP",
    "MSG_EVENT",
    "MSG_METRICS",
    "MSG_PRESENCE",
    "MSG_PROBE",
    "Connection",
    "Hub",
    "LayerLost",
    "Subscription",
    "Topic",
    "cohort_group",
    "get_hub",
    "server_loop",
    "stop_hub",
    "wire",
]

logger = logging.getLogger(__name__)

# Seconds the hub's shutdown waits on each of its steps (``Hub.stop``).
STOP_WAIT = 2.0


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
        self.connections: set[Connection] = set()
        self.user_sockets: dict[int, int] = {}  # user id -> authenticated sockets here
        self.fanout = Fanout(loop)
        self.topics_registry = Topics(self)
        self.topics: dict[str, Topic] = self.topics_registry.by_name
        self.presence = PresenceTracker(loop)
        self.replays = subscribing.SharedReplays()  # replay reads shared by subscribes
        self.tasks: list[asyncio.Task[None]] = []
        # Frames written or queued (``Connection.push``): /metrics reads them.
        self.frames_pushed = 0
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

    # Counters read by /metrics (dashboard/prometheus.py) --------------------------------

    @property
    def native_sends(self) -> int:
        return self.fanout.native_sends

    @property
    def native_short_writes(self) -> int:
        return self.fanout.native_short_writes

    @property
    def native_frames(self) -> int:
        return self.fanout.native_frames

    @property
    def local_presence(self) -> dict[Any, Any]:
        return self.presence.local

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
                spawn(upkeep.sweep_loop(self), name="realtime-sweep"),
                spawn(self.presence.heartbeat_loop(), name="realtime-presence"),
            ]
            if not isinstance(self.layer, InMemoryChannelLayer):
                self.tasks.append(spawn(upkeep.health_loop(self), name="realtime-health"))

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
        if self.presence.tasks:  # say goodbye before the presence client closes
            await _settle(list(self.presence.tasks), "presence goodbyes")
        for task in self.tasks:
            task.cancel()
        await _settle(self.tasks, "the hub's loops")
        self.tasks = []
        self.heap.close()  # the sweep that ran the collector's schedule has stopped
        self.fanout.stop()
        await _settle(self.topics_registry.leaving(), "leaving the groups")
        await _settle([self.presence.store.close()], "closing presence")
        self.started = False

    def layer_lost(self) -> None:
        """Close every socket with 1012 and forget the topics: clients recover on return."""
        upkeep.layer_lost(self)

    # Connections -----------------------------------------------------------------------

    def connect(
        self,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        kind: type[Connection] = Connection,
    ) -> Connection:
        """Register a socket (``kind``: a ``Connection`` subclass that handles its frames
        itself, as a GraphQL subscription does)."""
        conn = kind(self, send)
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
            self.topics_registry.drop(conn, name)
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
        await subscribing.subscribe_cohort(self, conn, cohort_id, role, since, ref, viewer, budget)

    async def subscribe_metrics(self, conn: Connection, ref: Any) -> None:
        await subscribing.subscribe_metrics(self, conn, ref)

    def unsubscribe(self, conn: Connection, name: str) -> bool:
        if name not in conn.subs:
            return False
        self.topics_registry.drop(conn, name)
        return True

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
                    self.topics_registry.probe_back(message.get("token", ""))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("realtime receive loop")
                await asyncio.sleep(0.1)

    def _on_event(self, cohort_id: int, seq: int, event_json: str) -> None:
        topic = self.topics.get(protocol.cohort_topic(cohort_id))
        if topic is not None and topic.seq is not None:
            topic.seq.offer(seq, event_json)

    def _on_presence(self, message: dict[str, Any]) -> None:
        topic = self.topics.get(protocol.cohort_topic(message["cohort"]))
        if topic is not None:
            self.presence.deliver(topic, message)

    def _on_metrics(self, sample_json: str) -> None:
        topic = self.topics.get(protocol.METRICS_TOPIC)
        if topic is not None:
            topic.sent += 1
            self.fanout.deliver(topic, topic.sent, protocol.metrics_frame_text(sample_json))


# --------------------------------------------------------------------------------------
# The hub of the running loop
# --------------------------------------------------------------------------------------

_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


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
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for old in [old for old in _hubs if old.is_closed()]:
            del _hubs[old]
        hub = _hubs[loop] = Hub(loop)
    serverloop.mark(loop)
    return hub


async def stop_hub() -> None:
    """Stop the hub of the running loop (server shutdown, end of a test)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.pop(loop, None)
    if hub is not None:
        await hub.stop()
    serverloop.forget(loop)
