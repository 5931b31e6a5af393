"""The helpers that run inside the server process, started and stopped by its lifespan
(dashboard/lifespan.py): the list is ``in_process_helpers()``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

Hook = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Helper:
    """A helper of the server process: started with it, stopped (promptly) with it."""

    name: str
    start: Hook
    stop: Hook


def in_process_helpers() -> list[Helper]:
    """Return the helpers the settings ask for, in start order: the realtime hub always;
    the demo simulator when ``SIMULATE``; the periodic jobs when ``PERIODIC_JOBS`` is
    ``inprocess``; the cache metrics sampler when ``METRICS_SAMPLER_IN_PROCESS``."""
    helpers = [_realtime_hub()]
    if settings.SIMULATE:
        helpers.append(_simulator())
    if settings.PERIODIC_JOBS == "inprocess":
        helpers.append(_periodic_jobs())
    if settings.METRICS_SAMPLER_IN_PROCESS:
        helpers.append(_metrics_sampler())
    return helpers


def _realtime_hub() -> Helper:
    """Start the WebSocket fan-out with the server: publishes from threads find its loop."""
    from realtime.hub import get_hub, stop_hub

    async def start() -> None:
        await get_hub().start()

    return Helper("realtime-hub", start, stop_hub)


def _simulator() -> Helper:
    from dashboard.models import Cohort
    from dashboard.simulator import run_simulator

    stop = threading.Event()
    thread: dict[str, threading.Thread] = {}

    def _run() -> None:
        cohort_ids = list(Cohort.objects.values_list("id", flat=True))
        run_simulator(
            cohort_ids=cohort_ids,
            interval=settings.SIMULATE_INTERVAL,
            stop=stop,
            recycle_connections=True,
        )

    async def start() -> None:
        thread["t"] = threading.Thread(target=_run, name="simulator", daemon=True)
        thread["t"].start()

    async def stop_() -> None:
        stop.set()
        await asyncio.to_thread(thread["t"].join, 5)

    return Helper("simulator", start, stop_)


def _periodic_jobs() -> Helper:
    """Run the periodic jobs (dashboard/jobs.py) in a thread, each ``PERIODIC_INTERVAL`` s."""
    from dashboard.jobs import run_periodic_jobs

    stop = threading.Event()
    thread: dict[str, threading.Thread] = {}

    async def start() -> None:
        thread["t"] = threading.Thread(
            target=run_periodic_jobs,
            kwargs={"interval": float(settings.PERIODIC_INTERVAL), "stop": stop},
            name="periodic-jobs",
            daemon=True,
        )
        thread["t"].start()

    async def stop_() -> None:
        stop.set()
        await asyncio.to_thread(thread["t"].join, 5)

    return Helper("periodic-jobs", start, stop_)


def _metrics_sampler() -> Helper:
    """Sample the cache metrics once a second in this process (the embedded default)."""
    from dashboard.metrics_sampler import default_sampler, start_sampler_thread

    running: dict[str, tuple[threading.Thread, threading.Event]] = {}

    async def start() -> None:
        running["t"] = start_sampler_thread(default_sampler())

    async def stop_() -> None:
        thread, stop = running["t"]
        stop.set()
        await asyncio.to_thread(thread.join, 5)

    return Helper("metrics-sampler", start, stop_)
