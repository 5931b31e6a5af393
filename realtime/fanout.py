"""Fan-out: hand each frame of a topic (events, metrics) to its local sockets, once encoded.

The one delivery path of topic frames: ``Fanout.deliver`` queues a frame (its text, its
bytes built once, and for events the JSON its redacted form is made from) for the topic's
sockets of that moment; frames queued behind one for the same sockets go out together.
The loop yields every ``FANOUT_SLICE`` sockets, gives each socket the form its viewer
may see (privacy by role: the redacted form is made lazily, once per batch), and writes
to every socket that can take bytes at once in one native call per audience
(``send_many``, the GIL released); the rest go through ``Connection.push``.
"""

from __future__ import annotations

import asyncio
import json
from array import array
from collections import deque
from typing import TYPE_CHECKING

from dashboard import prometheus
from realtime import connection, protocol
from realtime.connection import Connection, wire

if TYPE_CHECKING:
    from dashboard.selectors.privacy import Viewer
    from realtime.topics import Subscription, Topic

# Sockets served between two yields to the event loop during one event's fan-out.
FANOUT_SLICE = 256

Frame = tuple[int, str, bytes]  # (seq, frame text, frame bytes)


class _Audience:
    """The events of one fan-out batch as one audience gets them, and its native sends."""

    __slots__ = ("data", "direct", "events", "fds")

    def __init__(self, events: list[Frame]) -> None:
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

    def __init__(self, topic: str, events: list[Frame], sources: list[str | None]):
        self.topic = topic
        self.full = _Audience(events)
        self.sources = sources  # each event's JSON as published (None: not an event)
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
            if source is None:
                continue
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


class Fanout:
    """The queue of fan-outs of one event loop, and the task that works through it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        # Queued fan-outs: (sockets, topic, topic version, [(seq, text, frame bytes)],
        # [each event's JSON], from which its redacted form is made when needed).
        self.queue: deque[tuple[list[Subscription], Topic, int, list[Frame], list[str | None]]] = (
            deque()
        )
        self.task: asyncio.Task[None] | None = None
        # Deliveries written by ``send_many``, those of them that came up short, and
        # the frames they carried: /metrics reads them.
        self.native_sends = 0
        self.native_short_writes = 0
        self.native_frames = 0

    def deliver(self, topic: Topic, seq: int, text: str, source: str | None = None) -> None:
        """Queue one frame's fan-out to the topic's sockets of this moment, in seq order.

        ``seq`` orders the topic's frames (an event's seq; a count for metrics); ``source``
        is an event's JSON as published, from which learners' redacted form is made.
        """
        frame = wire(text)  # the frame's bytes, once for every socket of this process
        queue = self.queue
        if queue and queue[-1][1] is topic and queue[-1][2] == topic.version:
            # Behind: this frame joins the queued fan-out of the same sockets, and each
            # socket gets the frames of the batch in one write.
            queue[-1][3].append((seq, text, frame))
            queue[-1][4].append(source)
        else:
            queue.append((list(topic.subs), topic, topic.version, [(seq, text, frame)], [source]))
        if self.task is None:
            self.task = self.loop.create_task(self._run())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.queue.clear()

    async def _run(self) -> None:
        """Hand each batch to its sockets, yielding to the loop every ``FANOUT_SLICE``
        sockets: a fan-out to thousands never holds the loop (HTTP, the ORM thread's
        hand-offs) for more than a few milliseconds. Batches go out in the order queued."""
        queue = self.queue
        try:
            while queue:
                subs, topic, _, events, sources = queue.popleft()
                started = self.loop.time()
                forms = _Forms(topic.name, events, sources)
                for start in range(0, len(subs), FANOUT_SLICE):
                    if start:
                        await asyncio.sleep(0)
                    self._slice(subs[start : start + FANOUT_SLICE], forms)
                if topic.cohort_id is not None:  # the histogram is of events' fan-outs
                    prometheus.fanout_done(len(subs), len(events), self.loop.time() - started)
        finally:
            self.task = None

    def _slice(self, subs: list[Subscription], forms: _Forms) -> None:
        """Pass a batch (in seq order) to ``subs``, each in the form its viewer may see.

        Each live socket gets the frames it does not have yet. Those that can take bytes
        at once get their audience's bytes in one native call per audience for the whole
        slice; the rest, and all when the extension is missing, go through
        ``Connection.push``. A socket still replaying buffers the frames.
        """
        first, last, full = forms.first, forms.last, forms.full
        # The full form's sockets (mentors, staff; learners when nothing is private) are
        # gathered in locals; other forms' in their ``_Audience``.
        fds, direct = full.fds, full.direct
        add_fd, add_conn = fds.append, direct.append
        others: list[_Audience] = []
        for sub in subs:
            conn = sub.conn
            viewer = sub.viewer  # None: sees the full form, without a call
            audience = full if viewer is None else forms.audience_for(viewer)
            if not sub.live:
                if not conn.closed:
                    sub.buffer.extend((seq, text) for seq, text, _ in audience.events)
                continue
            if last <= sub.last_seq:
                continue
            if first > sub.last_seq:  # all of them are new to it: the common case
                sub.last_seq = sub.pushed = last
                fd = conn.fd
                if fd >= 0 and conn.writable_now():
                    if audience is full:
                        add_fd(fd)
                        add_conn(conn)
                    else:
                        if not audience.direct:
                            others.append(audience)
                        audience.fds.append(fd)
                        audience.direct.append(conn)
                elif len(audience.events) == 1:
                    conn.push(audience.events[0][1], audience.data)
                else:
                    conn.push_many(audience.events)
                continue
            fresh = [e for e in audience.events if e[0] > sub.last_seq]
            sub.last_seq = sub.pushed = fresh[-1][0]
            conn.push_many(fresh)
        if direct:
            self._send_native(full)
        for audience in others:
            self._send_native(audience)

    def _send_native(self, audience: _Audience) -> None:
        """Write the audience's bytes to its sockets in one native call, then forget them."""
        send_many = connection.send_many
        assert send_many is not None
        data, direct = audience.data, audience.direct
        # No await between the checks in ``_slice`` and these writes: every socket is
        # still open and its descriptor still its own. One that took less than all gets the
        # rest through its transport (queued in order, or the error seen as on any write).
        short = send_many(audience.fds, data)
        for index, sent in short:
            direct[index].direct.transport.write(data[sent:])  # type: ignore[union-attr]
        self.native_sends += len(direct)
        self.native_frames += len(direct) * len(audience.events)
        self.native_short_writes += len(short)
        audience.fds = array("i")
        audience.direct = []
