"""The server process's runtime tuning, in one place and installed by one call.

A server holding thousands of sockets holds millions of tracked objects, and the
interpreter's defaults were not made for that. What is tuned, and how to turn it off
(figures: docs/performance.md):

- No start-up freeze: a ``gc.freeze()`` once the server had started won nothing in a
  same-run A/B (docs/performance.md, "The runtime knobs and slicing"); the heap
  policy's first freeze (at 100 sockets) takes the start-up objects out of full passes.
- **The heap policy** (``HeapPolicy``, ticked by the hub's sweep): sockets' objects
  frozen step by step as they open, the young passes run on a schedule, thaw and
  refreeze on churn. ``HEAP_FREEZE=0`` turns it off.
- **The switch interval**: the event loop holds the GIL through a fan-out's sends; a
  request thread that released it for a query waits up to one switch interval to get it
  back, at every query. ``GIL_SWITCH_INTERVAL`` (0.5 ms instead of Python's 5 ms) took
  the REST write p99 under fan-out from 311 to 33-102 ms; set it to 0.005 to turn it off.
- **The pause log**: a collection longer than ``GC_PAUSE_LOG_MS`` is logged as a
  warning, so a latency spike can be told apart from a slow query or a slow client. It
  only observes, so it is on everywhere.

The tuning relies on CPython's generational collector as it is in 3.11-3.13 (where it
was measured); 3.14's incremental collector changes what a young or full pass is. On
any other interpreter ``install()`` leaves the first three off and logs one line.
"""

from __future__ import annotations

import gc
import logging
import platform
import sys
import time
from typing import Any

logger = logging.getLogger(__name__)

#: The CPython releases (first and last, major.minor) the tuning was measured on.
MEASURED = ((3, 11), (3, 13))

_state: dict[str, float] = {"started": 0.0, "started_cpu": 0.0, "threshold": 0.05}


def unsupported_reason() -> str | None:
    """Return why this interpreter gets no tuning, or None when it was measured on."""
    if platform.python_implementation() != "CPython":
        return f"{platform.python_implementation()} is not CPython"
    version = sys.version_info[:2]
    first, last = MEASURED
    if not first <= version <= last:
        return (
            f"Python {version[0]}.{version[1]}'s collector was not measured "
            f"(measured on {first[0]}.{first[1]}-{last[0]}.{last[1]})"
        )
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        return "the GIL is off (free-threaded build)"
    return None


def install(*, switch_interval: float, pause_log_ms: float) -> bool:
    """Tune this process for many sockets (call once, when the server has started);
    return whether the tuning is on (the pause log always is)."""
    install_pause_log(pause_log_ms)
    reason = unsupported_reason()
    if reason is not None:
        logger.warning("runtime tuning off: %s", reason)
        return False
    sys.setswitchinterval(switch_interval)
    return True


# --------------------------------------------------------------------------------------
# The pause log
# --------------------------------------------------------------------------------------


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _state["started"] = time.perf_counter()
        _state["started_cpu"] = time.thread_time()
        return
    paused = time.perf_counter() - _state["started"]
    if paused >= _state["threshold"]:
        # The CPU the collecting thread spent tells a long pass from a short one that
        # waited: finalizers run Python code, which may hand the GIL to another thread.
        cpu = time.thread_time() - _state["started_cpu"]
        logger.warning(
            "garbage collection paused the process for %.0f ms, %.0f ms of it collecting"
            " (generation %s, %s collected)",
            paused * 1000,
            cpu * 1000,
            info.get("generation"),
            info.get("collected"),
            extra={
                "gc_pause_ms": round(paused * 1000, 1),
                "gc_cpu_ms": round(cpu * 1000, 1),
                "gc_generation": info.get("generation"),
            },
        )


def install_pause_log(threshold_ms: float) -> None:
    """Log collections that take ``threshold_ms`` or more (idempotent)."""
    _state["threshold"] = threshold_ms / 1000
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)


def uninstall_pause_log() -> None:
    if _on_gc in gc.callbacks:
        gc.callbacks.remove(_on_gc)


# --------------------------------------------------------------------------------------
# The heap policy
# --------------------------------------------------------------------------------------

# A generation-2 threshold the collector never reaches: full passes are the policy's.
_NEVER = 1_000_000_000


class HeapPolicy:
    """Freeze each step of new sockets out of full collections, run the young passes on a
    schedule, thaw and refreeze on churn.

    Each socket keeps a few hundred tracked objects for as long as it is open, and every
    full collection walks them all unless they are frozen (``gc.freeze()`` moves them to
    the permanent generation, which collections skip). The collector runs a full pass by
    itself whenever the heap has grown by 25 %, so a ramp of sockets is exactly what
    triggers them: 5,000 sockets arriving over ~70 s in one process logged full passes
    growing from 130 to 950 ms. Waiting for a quiet moment before freezing never froze
    during such a ramp, so this policy does not wait.

    ``tick()`` gets counters from the hub about once a second. Once the sockets opened
    since the last freeze reach ``max(min_step, grow * sockets at the last freeze)``, with
    at least ``floor`` sockets open, it runs a full collection and freezes. That pass only
    walks what is not frozen yet, the last step's objects, so it stays short when steps
    are frequent, and it reclaims their garbage (dead cycles included) before they would
    be frozen.

    Open sockets also renew objects all the time: each frame received leaves a new pending
    read (a future, its coroutines, the parser's generator and frame) that lives until the
    next one, and the one it replaces dies. The death takes one off the collector's count
    of new objects, so the count stays low while the young generations grow: at 5,000
    sockets they held ~50,000 objects when a young pass finally ran, and that pass took
    50-80 ms inside whichever thread allocated, a REST write's as often as not. So once it
    has frozen, and while ``floor`` sockets are open, every tick runs a young pass itself
    (``gc.collect(1)``: a second's worth, a few milliseconds on the hub's loop), and the
    collector's own full passes are held (they would now come every few seconds, each
    walking every renewed object): every ``full_every`` ticks the policy runs one.
    Freezing the survivors at every tick instead was measured and rejected: the server
    spent ~20 % more CPU and the latencies doubled (docs/performance-history.md, "What
    session 6 changed").

    Objects that die while frozen are freed by reference counting, but cycles among them
    are not, and a socket count that stays flat while sockets close and others open
    would hide them forever. So the closed sockets are counted from the first freeze
    after the last thaw; when they reach ``shrink`` of the sockets frozen (and at least
    ``floor``) the heap is thawed, collected in full and frozen again in the same tick:
    one deliberate full pass on this schedule instead of a huge generation left to the
    collector's. That pass walks every socket still open (~65 us each here: 650 ms at
    10,000), so it waits while the sockets are leaving in a burst (a tick that closed
    ``burst`` of the frozen ones, and at least ``min_step``), for at most ``max_defer``
    ticks: when a proxy drops them all, the one pass comes after they have gone and
    walks what is left, instead of a pass at each quarter over most of them.
    """

    def __init__(
        self,
        *,
        min_step: int = 100,
        grow: float = 0.1,
        shrink: float = 0.25,
        floor: int = 100,
        full_every: int = 300,
        burst: float = 0.05,
        max_defer: int = 10,
    ) -> None:
        self.full_every = full_every
        self.burst = burst
        self.max_defer = max_defer
        self.min_step = min_step
        self.grow = grow
        self.shrink = shrink
        self.floor = floor
        self.frozen_sockets = 0  # sockets open at the last freeze (0: none by this policy)
        self.opened_at_freeze = 0  # the hub's opened counter at the last freeze
        # The hub's closed counter when the heap was first frozen after the last thaw
        # (None: not frozen by this policy yet).
        self.closed_at_freeze: int | None = None
        self.freezes = 0
        self.thaws = 0
        self.young_passes = 0
        self.full_passes = 0
        self.ticks_since_full = 0
        self.deferred = 0  # ticks the due thaw has waited for a burst of closes to end
        self.closed_last_tick = 0
        self._old_threshold = gc.get_threshold()[2]
        # On an interpreter it was not measured on, the collector keeps its own schedule.
        self.enabled = unsupported_reason() is None

    def tick(self, sockets: int, opened: int, closed: int) -> None:
        """Take the sockets open now and those opened and closed so far; freeze or thaw."""
        if not self.enabled:
            return
        closed_now, self.closed_last_tick = closed - self.closed_last_tick, closed
        if self.closed_at_freeze is not None:
            left = closed - self.closed_at_freeze
            if left >= max(self.floor, self.shrink * self.frozen_sockets):
                leaving = closed_now >= max(self.min_step, self.burst * self.frozen_sockets)
                if not leaving or self.deferred >= self.max_defer:
                    self.deferred = 0
                    self._thaw(sockets, opened, closed, left)
                    return
                self.deferred += 1
        step = max(self.min_step, self.grow * self.frozen_sockets)
        if opened - self.opened_at_freeze >= step and sockets >= self.floor:
            started = time.perf_counter()
            gc.collect()
            gc.freeze()
            paused = time.perf_counter() - started
            self._frozen(sockets, opened, closed)
            self.freezes += 1
            logger.info(
                "heap frozen at %s sockets (%s objects, full collection %.0f ms)",
                sockets,
                gc.get_freeze_count(),
                paused * 1000,
            )
        elif self.closed_at_freeze is not None and sockets >= self.floor:
            self._collect_on_schedule()
        self._hold_full_passes(self.closed_at_freeze is not None and sockets >= self.floor)

    def _collect_on_schedule(self) -> None:
        """Collect the young generations, or every ``full_every`` ticks all that is not
        frozen: the tick's pass on the hub's loop, instead of one the collector would start
        in whichever thread allocates."""
        self.ticks_since_full += 1
        if self.ticks_since_full >= self.full_every:
            self.ticks_since_full = 0
            self.full_passes += 1
            gc.collect()
        else:
            self.young_passes += 1
            gc.collect(1)

    def close(self) -> None:
        """Give the collector its full passes back (the hub stops)."""
        self._hold_full_passes(False)

    def _hold_full_passes(self, held: bool) -> None:
        """Keep the collector from starting full passes by itself while this policy runs
        them (``held``), and give them back when it stops."""
        young, middle, old = gc.get_threshold()
        if held and old != _NEVER:
            self._old_threshold = old
            gc.set_threshold(young, middle, _NEVER)
        elif not held and old == _NEVER:
            gc.set_threshold(young, middle, self._old_threshold)

    def _thaw(self, sockets: int, opened: int, closed: int, left: int) -> None:
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        paused = time.perf_counter() - started
        self.closed_at_freeze = None  # a thaw: count the closed sockets anew
        self._frozen(sockets, opened, closed)
        self.thaws += 1
        logger.info(
            "heap thawed after %s sockets closed, collected in %.0f ms and frozen again "
            "at %s sockets (%s objects)",
            left,
            paused * 1000,
            sockets,
            gc.get_freeze_count(),
        )

    def _frozen(self, sockets: int, opened: int, closed: int) -> None:
        self.frozen_sockets = sockets
        self.opened_at_freeze = opened
        if self.closed_at_freeze is None:
            self.closed_at_freeze = closed
