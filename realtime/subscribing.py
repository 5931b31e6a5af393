"""Joining a socket to a topic: ``subscribed``, the replay, then the live events, in order.

Recovery (``subscribe`` with ``since``): the socket is registered (buffering) and the
topic's subscription proven live (a probe sent through the group came back) *before* the
head and the replay are read; then ``subscribed``, the replay, and the buffered live
events newer than what was sent, each socket dropping seqs it already has. When the
topic's sequencer already knows the head, no query is made.

Replays at the same ``since`` share one read (``SharedReplays``): sockets that subscribe
together (a class reconnecting after a restart) await the one read not yet begun, and
each gets its own form of it (privacy by role, ``reads.Replay``).

A second subscribe to a topic the socket holds replaces the first subscription (never
adds one): the socket gets each frame once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from dashboard import prometheus
from realtime import protocol, reads
from realtime.presence_tracking import PresenceTracker
from realtime.topics import Subscription

if TYPE_CHECKING:
    from dashboard.selectors.privacy import Viewer
    from realtime.connection import Connection
    from realtime.hub import Hub
    from realtime.sequencer import Sequencer

# Events per ``events`` frame of a replay.
REPLAY_FRAME_EVENTS = 100


class _Read:
    __slots__ = ("future", "started")

    def __init__(self) -> None:
        self.started = False  # set in the ORM thread, before the read's first query
        self.future: asyncio.Future[tuple[int, reads.Replay | None]] | None = None


class SharedReplays:
    """The replay reads of one hub: one per (cohort, since) among sockets subscribing
    at once.

    A socket may join a read only while that read has not begun: every socket that
    awaits it was registered on the topic (buffering) and found the topic live before
    the read took its head, so every event after that head reaches its buffer, as with
    a read of its own (recovery stays gap-free). A read that began is not joined: the
    socket starts the next one, which later sockets join. A read that fails fails for
    its waiters only; the next subscribe reads again.
    """

    def __init__(self) -> None:
        self.pending: dict[tuple[int, int, int], _Read] = {}
        self.reads = 0  # reads started (tests, figures)

    async def read(self, cohort_id: int, since: int, limit: int) -> tuple[int, reads.Replay | None]:
        key = (cohort_id, since, limit)
        entry = self.pending.get(key)
        if entry is None or entry.started:
            entry = self.pending[key] = _Read()
            self.reads += 1

            def run(entry: _Read = entry) -> tuple[int, reads.Replay | None]:
                entry.started = True
                return reads.read_replay(cohort_id, since, limit)

            future = entry.future = asyncio.ensure_future(database_sync_to_async(run)())
            future.add_done_callback(lambda f: self._done(key, entry, f))
        assert entry.future is not None
        # Shielded: a waiter that goes away (its socket closed) does not cancel the others'.
        return await asyncio.shield(entry.future)

    def _done(self, key: tuple[int, int, int], entry: _Read, future: asyncio.Future[Any]) -> None:
        if self.pending.get(key) is entry:
            del self.pending[key]
        if not future.cancelled():
            future.exception()  # retrieved: each waiter gets it through its shield


async def subscribe_cohort(
    hub: Hub,
    conn: Connection,
    cohort_id: int,
    role: str,
    since: int | None,
    ref: Any,
    viewer: Viewer | None = None,
    budget: Any = None,
) -> None:
    """Subscribe ``conn`` to the cohort (see ``Hub.subscribe_cohort``)."""
    name = protocol.cohort_topic(cohort_id)
    previous = conn.subs.get(name)
    topic = hub.topics_registry.get(name, protocol.cohort_group(cohort_id), cohort_id)
    sub = Subscription(conn, topic, viewer)
    topic.add(sub)
    conn.subs[name] = sub
    # Join presence before leaving the old subscription: a re-subscribe is no leave.
    hub.presence.add(cohort_id, conn, role)
    if previous is not None:
        # Replaced, not added to: the socket gets each event once.
        previous.topic.discard(previous)
        hub.presence.remove(cohort_id, conn)
    await hub.topics_registry.ready(topic)
    try:
        head, replay = await _head_and_replay(hub, topic.seq, cohort_id, since, viewer, budget)
    except DatabaseError:
        # The log could not be read: the socket is left without this subscription (the
        # consumer answers ``error`` ``unavailable``; the client subscribes again).
        if conn.subs.get(name) is sub:
            hub.topics_registry.drop(conn, name)
        raise
    entries = await hub.presence.list(cohort_id)
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
        for start in range(0, len(replay), REPLAY_FRAME_EVENTS):
            chunk = replay[start : start + REPLAY_FRAME_EVENTS]
            conn.push(protocol.events_frame_text(name, chunk))
        sub.pushed = head
    sub.known = {entry["user"]["id"] for entry in entries}
    last = head
    for seq, item in sub.buffer:
        if seq is None:
            text = PresenceTracker.text_for(sub, item, None)
            if text is not None:
                conn.push(text)
        elif seq > last:
            conn.push(item)
            last = sub.pushed = seq
    sub.buffer = []
    sub.last_seq = last
    sub.live = True


async def _head_and_replay(
    hub: Hub,
    seq: Sequencer | None,
    cohort_id: int,
    since: int | None,
    viewer: Viewer | None,
    budget: Any,
) -> tuple[int, list[str] | None]:
    """Return the head to subscribe at and the replay after ``since`` (None: not
    recovered, the client loads a snapshot)."""
    live_head = seq.head if seq is not None else None
    if live_head is not None and (since is None or since == live_head):
        # Every event up to ``live_head`` has been passed on to this process's
        # sockets and every later one will be: a consistent head without a query.
        return live_head, (None if since is None else [])
    if since is None or (
        budget is not None
        and not budget.allow(max(1, live_head - since) if live_head is not None else 1)
    ):
        # No replay asked, or this socket replayed too much lately (a client that
        # loops subscribe/unsubscribe): recovered false, the client loads a snapshot.
        if live_head is not None:
            return live_head, None
        return await database_sync_to_async(reads.read_head)(cohort_id), None
    head, shared = await hub.replays.read(cohort_id, since, int(settings.WS_REPLAY_MAX))
    replay = None if shared is None else shared.for_viewer(viewer)
    if budget is not None and live_head is None and replay:
        budget.spend(len(replay) - 1)  # what the estimate of 1 left out
    return head, replay


async def subscribe_metrics(hub: Hub, conn: Connection, ref: Any) -> None:
    """Subscribe ``conn`` to the cache metrics: ``subscribed``, the latest sample, live."""
    name = protocol.METRICS_TOPIC
    previous = conn.subs.get(name)
    topic = hub.topics_registry.get(name, protocol.METRICS_GROUP, None)
    sub = Subscription(conn, topic)
    topic.add(sub)
    conn.subs[name] = sub
    if previous is not None:
        # A second subscribe replaces the first: left registered, it would get every
        # sample too, and the socket each ``metrics`` frame twice.
        previous.topic.discard(previous)
    await hub.topics_registry.ready(topic)
    sample = await sync_to_async(reads.latest_metrics)()
    if conn.closed or conn.subs.get(name) is not sub:
        return
    frame: protocol.SubscribedFrame = {"type": "subscribed", "topic": name}
    if ref is not None:
        frame["ref"] = ref
    conn.push_frame(frame)
    if sample is not None:
        conn.push(protocol.metrics_frame_text(protocol.dumps(sample)))
    for seq, text in sub.buffer:
        conn.push(text)
        sub.last_seq = sub.pushed = seq or sub.last_seq
    sub.buffer = []
    sub.live = True
