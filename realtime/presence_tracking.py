"""Presence as one hub tracks it: this process's viewers, told to the store and the topics.

The process counts its sockets per (cohort, person) and tells the presence store
(realtime/presence.py) only when a person appears in or leaves the process; the joins and
leaves the store confirms are netted per cohort and published through the one publish
path (realtime/broadcasting.py). Snapshot reads for ``subscribed`` are shared (one in
flight per cohort), a heartbeat keeps this process's viewers alive in the store and
sweeps those of dead processes, and a presence message arriving from the layer is handed
to each local socket filtered against what it already knows.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from dashboard.formats import iso_ms
from realtime import broadcasting, protocol
from realtime.presence import MemoryPresence, RedisPresence, presence_store
from realtime.protocol import PresenceEntry

if TYPE_CHECKING:
    from realtime.connection import Connection
    from realtime.topics import Subscription, Topic

logger = logging.getLogger(__name__)


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


class _Local:
    """One person viewing one cohort through this process."""

    __slots__ = ("count", "entry", "joined")

    def __init__(self, entry: PresenceEntry, joined: asyncio.Future[None]) -> None:
        self.count = 1  # their sockets on the cohort here
        self.entry = entry
        self.joined = joined  # done once the store has the join


class PresenceTracker:
    """The presence of one event loop's sockets."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.store: MemoryPresence | RedisPresence = presence_store()
        self.local: dict[tuple[int, int], _Local] = {}  # (cohort, user) -> this process's
        self.tasks: set[asyncio.Task[None]] = set()
        self.reads: dict[int, _PresenceReads] = {}  # cohort -> its snapshot reads
        self.diffs: dict[int, _PresenceDiffs] = {}  # cohort -> its unpublished changes

    # Local viewers -------------------------------------------------------------------

    def add(self, cohort_id: int, conn: Connection, role: str) -> None:
        assert conn.user_entry is not None
        key = (cohort_id, conn.user_entry["id"])
        local = self.local.get(key)
        if local is not None:
            local.count += 1
            return
        entry: PresenceEntry = {
            "user": conn.user_entry,
            "role": role,
            "since": iso_ms(timezone.now()) or "",
        }
        done: asyncio.Future[None] = self.loop.create_future()
        self.local[key] = _Local(entry, done)
        self._task(self._join(cohort_id, entry, done))

    def remove(self, cohort_id: int, conn: Connection) -> None:
        assert conn.user_entry is not None
        key = (cohort_id, conn.user_entry["id"])
        local = self.local.get(key)
        if local is None:
            return
        local.count -= 1
        if local.count <= 0:
            del self.local[key]
            self._task(self._leave(cohort_id, key[1], local.joined))

    def _task(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _join(self, cohort_id: int, entry: PresenceEntry, done: asyncio.Future[None]) -> None:
        try:
            joined = await self.store.join(cohort_id, entry)
            if joined is not None:
                self._publish(cohort_id, joined, joined=True)
        except Exception as exc:
            logger.warning("presence join failed: %r", exc)
        finally:
            if not done.done():
                done.set_result(None)

    async def _leave(self, cohort_id: int, user_id: int, joined: asyncio.Future[None]) -> None:
        await joined  # a leave never overtakes its join
        try:
            left = await self.store.leave(cohort_id, user_id)
            if left is not None:
                self._publish(cohort_id, left, joined=False)
        except Exception as exc:
            logger.warning("presence leave failed: %r", exc)

    # Snapshot reads ------------------------------------------------------------------

    async def list(self, cohort_id: int) -> list[PresenceEntry]:
        """Return the cohort's viewers from a store read started after this call's joins.

        Concurrent calls share reads: a call joins the next read to start, so one cohort
        has at most one read in flight per process. A read per call ran the Redis pool
        dry when thousands of sockets subscribed at once, and those got no presence.
        """
        for (cid, _), local in list(self.local.items()):
            if cid == cohort_id:
                await local.joined  # this process's own joins are in the list
        reads = self.reads.get(cohort_id)
        if reads is None:
            reads = self.reads[cohort_id] = _PresenceReads()
            self._task(self._reader(cohort_id, reads))
        if reads.waiting is None:
            reads.waiting = self.loop.create_future()
        # Shielded: a subscriber that goes away must not cancel the others' read.
        return list(await asyncio.shield(reads.waiting))

    async def _reader(self, cohort_id: int, reads: _PresenceReads) -> None:
        """Read the cohort's presence while requests wait; [] to all waiters of a failure."""
        try:
            while reads.waiting is not None:
                # From here on new requests wait for the next read: this one may have
                # started before their joins were in the store.
                reads.reading, reads.waiting = reads.waiting, None
                try:
                    entries = await self.store.snapshot(cohort_id)
                except Exception as exc:
                    logger.warning("presence snapshot failed: %r", exc)
                    entries = []
                if not reads.reading.done():
                    reads.reading.set_result(entries)
        finally:
            if self.reads.get(cohort_id) is reads:
                del self.reads[cohort_id]
            for waiters in (reads.reading, reads.waiting):
                if waiters is not None and not waiters.done():
                    waiters.set_result([])  # the reader was cancelled: never leave them hanging

    # Publishing ----------------------------------------------------------------------

    def _publish(self, cohort_id: int, entry: PresenceEntry, *, joined: bool) -> None:
        """Queue a join or leave for the cohort's next presence message.

        One publisher per cohort at a time: changes that arrive while it publishes go out
        together in the next message, in order after it.
        """
        diffs = self.diffs.get(cohort_id)
        if diffs is None:
            diffs = self.diffs[cohort_id] = _PresenceDiffs()
            self._task(self._publisher(cohort_id, diffs))
        diffs.add(joined, entry)

    async def _publisher(self, cohort_id: int, diffs: _PresenceDiffs) -> None:
        try:
            while diffs.changes:
                joins, leaves = diffs.take()
                if joins or leaves:
                    await broadcasting.publish_now(
                        protocol.cohort_group(cohort_id),
                        protocol.presence_message(cohort_id, joins, leaves),
                    )
        finally:
            del self.diffs[cohort_id]

    async def heartbeat_loop(self) -> None:
        """Refresh this process's viewers and expire those of dead processes."""
        heartbeat = float(settings.PRESENCE_HEARTBEAT)
        sweep_every = float(settings.PRESENCE_SWEEP)
        next_sweep = self.loop.time() + sweep_every
        while True:
            await asyncio.sleep(min(heartbeat, sweep_every))
            try:
                entries = [(cid, local.entry) for (cid, _), local in self.local.items()]
                for cohort_id, entry in await self.store.heartbeat(entries):
                    self._publish(cohort_id, entry, joined=True)
                if self.loop.time() >= next_sweep:
                    next_sweep = self.loop.time() + sweep_every
                    for cohort_id, entry in await self.store.sweep():
                        self._publish(cohort_id, entry, joined=False)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("presence heartbeat failed: %r", exc)

    # Delivering ----------------------------------------------------------------------

    def deliver(self, topic: Topic, message: dict[str, Any]) -> None:
        """Hand a presence message from the layer to the topic's sockets."""
        full = protocol.presence_frame_text(topic.name, message["joins"], message["leaves"])
        for sub in tuple(topic.subs):  # a push can close a slow socket, which leaves the set
            if sub.live:
                text = self.text_for(sub, message, full)
                if text is not None:
                    sub.conn.push(text)
            else:
                sub.buffer.append((None, message))

    @staticmethod
    def text_for(sub: Subscription, message: dict[str, Any], full: str | None) -> str | None:
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
        return protocol.presence_frame_text(sub.topic.name, joins, leaves)
