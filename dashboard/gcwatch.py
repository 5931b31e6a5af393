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
