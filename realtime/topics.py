"""The topics of one event loop: which groups this process listens to, and who is on each.

A ``Topic`` is joined (its channel-layer group added to the process channel, then proven
live by a probe that comes back through the group) when its first local socket
subscribes, and left when the last one goes; ``Topics`` is that registry and life cycle.
A ``Subscription`` is one socket on one topic. A cohort topic has a ``Sequencer``
(realtime/sequencer.py) that hands its events to the fan-out in seq order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.conf import settings

from dashboard import prometheus
from realtime import protocol, reads
from realtime.sequencer import Sequencer

if TYPE_CHECKING:
    from dashboard.selectors.privacy import Viewer
    from realtime.connection import Connection
    from realtime.hub import Hub

logger = logging.getLogger(__name__)


class LayerLost(Exception):
    """The channel layer cannot be reached: sockets are closed with 1012."""


class Subscription:
    """One socket on one topic: buffering until its replay is sent, then live."""

    __slots__ = ("buffer", "conn", "known", "last_seq", "live", "pushed", "topic", "viewer")

    def __init__(self, conn: Connection, topic: Topic, viewer: Viewer | None = None) -> None:
        self.conn = conn
        self.topic = topic
        # What this socket may not see of scores and risk: None when it sees everything
        # (mentors, staff), so the fan-out tells the common case by one test.
        self.viewer = None if viewer is None or viewer.sees_all else viewer
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

    __slots__ = ("cohort_id", "group", "name", "ready", "sent", "seq", "subs", "version")

    def __init__(self, name: str, group: str, cohort_id: int | None, loop: Any) -> None:
        self.name = name
        self.group = group
        self.cohort_id = cohort_id
        self.subs: set[Subscription] = set()
        self.version = 0  # bumped whenever ``subs`` changes
        self.ready: asyncio.Future[None] = loop.create_future()
        self.seq: Sequencer | None = None  # the ordering of a cohort's events
        self.sent = 0  # the number of unsequenced messages (metrics) handed to the fan-out

    @property
    def next_seq(self) -> int | None:
        """The next seq to pass on (cohorts, once joined); None before."""
        return None if self.seq is None else self.seq.next_seq

    def add(self, sub: Subscription) -> None:
        self.subs.add(sub)
        self.version += 1

    def discard(self, sub: Subscription) -> None:
        self.subs.discard(sub)
        self.version += 1


class Topics:
    """The registry of one hub: topic name -> ``Topic``, joined and left on demand."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.by_name: dict[str, Topic] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.probes: dict[str, asyncio.Future[None]] = {}

    def get(self, name: str, group: str, cohort_id: int | None) -> Topic:
        """Return the topic, joining its group in the background on first use."""
        topic = self.by_name.get(name)
        if topic is None:
            topic = self.by_name[name] = Topic(name, group, cohort_id, self.hub.loop)
            if cohort_id is not None:
                topic.seq = self._sequencer(topic, cohort_id)
            self.hub.loop.create_task(self._establish(topic))
        return topic

    def _sequencer(self, topic: Topic, cohort_id: int) -> Sequencer:
        fanout = self.hub.fanout

        def deliver(seq: int, event_json: str) -> None:
            fanout.deliver(
                topic, seq, protocol.event_frame_text(topic.name, event_json), event_json
            )

        async def read_range(after: int, upto: int) -> list[tuple[int, str]]:
            return await database_sync_to_async(reads.read_range)(cohort_id, after, upto)

        return Sequencer(topic.name, deliver, read_range, on_fill=prometheus.ws_resync)

    @staticmethod
    async def ready(topic: Topic) -> None:
        """Wait until the topic's group is joined (``LayerLost`` if that failed)."""
        await asyncio.shield(topic.ready)

    def drop(self, conn: Connection, name: str) -> None:
        """Take ``conn`` off the topic; leave the topic's group when it was the last."""
        sub = conn.subs.pop(name, None)
        if sub is None:
            return
        topic = sub.topic
        topic.discard(sub)
        if topic.cohort_id is not None:
            self.hub.presence.remove(topic.cohort_id, conn)
        if not topic.subs:
            self.hub.loop.create_task(self._maybe_leave(topic))

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self.locks.get(name)
        if lock is None:
            lock = self.locks[name] = asyncio.Lock()
        return lock

    async def _establish(self, topic: Topic) -> None:
        """Join the topic's group and prove the subscription live with a probe."""
        hub = self.hub
        try:
            async with self._lock(topic.name):
                await hub.start()
                timeout = float(settings.REALTIME_HEALTH_TIMEOUT)
                await asyncio.wait_for(hub.layer.group_add(topic.group, hub.channel), timeout)
                await asyncio.wait_for(self.probe(topic.group), timeout)
                if topic.seq is not None and topic.cohort_id is not None:
                    head = await database_sync_to_async(reads.read_head)(topic.cohort_id)
                    topic.seq.start(head)
            if not topic.ready.done():
                topic.ready.set_result(None)
        except Exception as exc:
            logger.warning("subscribing this process to %s failed: %r", topic.group, exc)
            if self.by_name.get(topic.name) is topic:
                del self.by_name[topic.name]
            if not topic.ready.done():
                topic.ready.set_exception(LayerLost(str(exc)))
                topic.ready.exception()  # retrieved: waiters get it through shield

    async def _maybe_leave(self, topic: Topic) -> None:
        hub = self.hub
        async with self._lock(topic.name):
            if topic.subs or self.by_name.get(topic.name) is not topic:
                return
            with contextlib.suppress(asyncio.CancelledError, asyncio.InvalidStateError):
                await asyncio.shield(topic.ready)
            if topic.subs or self.by_name.get(topic.name) is not topic:
                return
            del self.by_name[topic.name]
            try:
                await asyncio.wait_for(
                    hub.layer.group_discard(topic.group, hub.channel),
                    float(settings.REALTIME_HEALTH_TIMEOUT),
                )
            except Exception:
                logger.info("leaving %s failed (layer down?)", topic.group, exc_info=True)

    async def probe(self, group: str | None) -> None:
        """Send a probe (to a group, or to this process) and wait for it to come back."""
        hub = self.hub
        token = uuid.uuid4().hex
        future: asyncio.Future[None] = hub.loop.create_future()
        self.probes[token] = future
        try:
            message = protocol.probe_message(token)
            if group is None:
                await hub.layer.send(hub.channel, message)
            else:
                await hub.layer.group_send(group, message)
            await future
        finally:
            self.probes.pop(token, None)

    def probe_back(self, token: str) -> None:
        """A probe came back through the layer."""
        future = self.probes.get(token)
        if future is not None and not future.done():
            future.set_result(None)

    def lost(self) -> None:
        """Forget every topic (the layer is lost): their waiters get ``LayerLost``."""
        for topic in list(self.by_name.values()):
            if not topic.ready.done():
                topic.ready.set_exception(LayerLost("channel layer lost"))
                topic.ready.exception()
        self.by_name.clear()

    def leaving(self) -> list[Any]:
        """The group discards of every topic (the hub stops), to be awaited; forgets them."""
        hub = self.hub
        discards = [hub.layer.group_discard(t.group, hub.channel) for t in self.by_name.values()]
        self.by_name.clear()
        return discards
