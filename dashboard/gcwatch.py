"""Log the garbage collector's long pauses: they stop every socket of the process at once.

A full collection walks every tracked object, and a server holding thousands of sockets
holds millions of them: measured here, 100-190 ms per full pass at 1,000 sockets
(docs/performance.md). ``install()`` adds a ``gc.callbacks`` hook that logs a warning
for each pass longer than ``GC_PAUSE_LOG_MS``, so a latency spike can be told apart from
a slow query or a slow client.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

logger = logging.getLogger(__name__)

_state: dict[str, float] = {"started": 0.0, "threshold": 0.05}


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _state["started"] = time.perf_counter()
        return
    paused = time.perf_counter() - _state["started"]
    if paused >= _state["threshold"]:
        logger.warning(
            "garbage collection paused the process for %.0f ms (generation %s, %s collected)",
            paused * 1000,
            info.get("generation"),
            info.get("collected"),
            extra={"gc_pause_ms": round(paused * 1000, 1), "gc_generation": info.get("generation")},
        )


def install(threshold_ms: float) -> None:
    """Log collections that take ``threshold_ms`` or more (idempotent)."""
    _state["threshold"] = threshold_ms / 1000
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)


def uninstall() -> None:
    if _on_gc in gc.callbacks:
        gc.callbacks.remove(_on_gc)


def _full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])


class FreezeWhenSettled:
    """Freeze the heap once a wave of new sockets has settled; thaw it when many left.

    Each socket keeps a few hundred tracked objects for as long as it is open, and every
    full collection walks them all: measured, 0.8-1.0 s per full pass at 5,000 sockets in
    one process. ``gc.freeze()`` moves everything tracked into the permanent generation,
    which collections skip. It is called when the number of sockets has grown by
    ``grow`` (fraction) since the last freeze and none has opened for ``quiet`` seconds,
    after a young collection so fresh garbage is not frozen. Objects that become garbage
    while frozen are freed by reference counting as usual; only cycles among them wait,
    so when the count falls by ``shrink`` below the frozen count the heap is thawed
    (``gc.unfreeze()``) and the next full collection reclaims them.
    """

    def __init__(self, *, grow: float = 0.2, shrink: float = 0.25, quiet: float = 2.0) -> None:
        self.grow = grow
        self.shrink = shrink
        self.quiet = quiet
        self.frozen_at = 0  # socket count at the last freeze (0: nothing frozen by us)
        self.freezes = 0
        self.thaws = 0
        # Full collections counted at the last thaw: no freeze again before the next one,
        # or the cycles the thaw was for would be frozen again.
        self.thawed_at_full: int | None = None

    def tick(self, sockets: int, now: float, last_open: float) -> None:
        """Called about once a second with the socket count and the last open's time."""
        if self.frozen_at and sockets < self.frozen_at * (1 - self.shrink):
            gc.unfreeze()
            self.frozen_at = 0
            self.thaws += 1
            self.thawed_at_full = _full_collections()
            logger.info("heap thawed: %s sockets now", sockets)
            return
        settled = now - last_open >= self.quiet
        grown = sockets >= max(1, self.frozen_at) * (1 + self.grow) and sockets >= 100
        reclaimed = self.thawed_at_full is None or _full_collections() > self.thawed_at_full
        if settled and grown and reclaimed:
            gc.collect(1)
            gc.freeze()
            self.frozen_at = sockets
            self.freezes += 1
            logger.info("heap frozen at %s sockets (%s objects)", sockets, gc.get_freeze_count())
