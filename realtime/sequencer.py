"""Per-topic ordering: pass a cohort's events on strictly in ``seq`` order, filling gaps.

An event that arrives early waits for the missing ones, which are read at once through
the ``read_range`` callable given (the database, in the hub; anything in a test): a
publish lost while Redis was down, or two publishers racing, is repaired once per
process, not once per socket. Pure: no database, no channel layer, no sockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

# Events ``after < seq <= upto`` the source has, as (seq, encoded event), in seq order.
ReadRange = Callable[[int, int], Awaitable[list[tuple[int, str]]]]


class Sequencer:
    """The ordering of one topic's events: ``offer`` in any order, ``deliver`` in order."""

    __slots__ = ("deliver", "filling", "name", "next_seq", "on_fill", "pending", "read_range")

    def __init__(
        self,
        name: str,
        deliver: Callable[[int, str], None],
        read_range: ReadRange,
        on_fill: Callable[[], None] | None = None,
    ) -> None:
        self.name = name  # for the logs
        self.deliver = deliver  # called with (seq, event json), strictly in seq order
        self.read_range = read_range
        self.on_fill = on_fill  # called before each read of a gap (a metric)
        self.next_seq: int | None = None  # the next seq to pass on; None until started
        self.pending: dict[int, str] = {}  # events that arrived ahead of next_seq
        self.filling = False

    @property
    def head(self) -> int | None:
        """The last seq passed on (None before ``start``)."""
        return None if self.next_seq is None else self.next_seq - 1

    def start(self, head: int) -> None:
        """Every event up to ``head`` is known to the readers: pass on what follows it."""
        self.next_seq = head + 1
        self.drain()

    def offer(self, seq: int, event_json: str) -> None:
        """Take one event as it arrived (live, replayed, duplicated, out of order)."""
        if self.next_seq is not None and seq < self.next_seq:
            return  # already passed on (a replayed or duplicated publish)
        self.pending[seq] = event_json
        self.drain()

    def drain(self) -> None:
        """Pass on the pending events that are next in seq order; fill a gap if one is left."""
        if self.next_seq is None:
            return
        pending = self.pending
        for seq in [s for s in pending if s < self.next_seq]:
            del pending[seq]
        while self.next_seq in pending:
            seq = self.next_seq
            self.next_seq = seq + 1
            self.deliver(seq, pending.pop(seq))
        if pending and not self.filling:
            self.filling = True
            asyncio.get_running_loop().create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        """Read the events missing before the pending ones, once."""
        try:
            while self.pending and self.next_seq is not None:
                after = self.next_seq - 1
                upto = min(self.pending) - 1
                if upto <= after:
                    self.drain()
                    continue
                if self.on_fill is not None:
                    self.on_fill()
                rows = await self.read_range(after, upto)
                if self.next_seq is None:
                    return
                for seq, text in rows:
                    if seq >= self.next_seq:
                        self.pending.setdefault(seq, text)
                if self.next_seq != after + 1:
                    # Live events moved the head while the source was read (the missing
                    # one arrived late, as when two processes publish): this read no
                    # longer covers the gap as it is now. Look again; skip nothing.
                    self.drain()
                    continue
                if self.next_seq not in self.pending and self.pending:
                    # Not in the source (the log was reset): skip ahead rather than stall.
                    logger.warning(
                        "events %s..%s of %s are gone; skipping",
                        self.next_seq,
                        min(self.pending) - 1,
                        self.name,
                    )
                    self.next_seq = min(self.pending)
                self.drain()
        except Exception:
            logger.warning("gap fill of %s failed", self.name, exc_info=True)
        finally:
            self.filling = False
