"""The helpers that run inside the server process in the embedded default."""

from __future__ import annotations

import asyncio
import threading

from django.conf import settings

from dashboard import lifespan

_registered = False


def register_default_helpers() -> None:
    """Register the in-process helpers once per process: the simulator when ``SIMULATE``,
    the periodic jobs when ``PERIODIC_JOBS`` is ``inprocess``."""
    global _registered
    if _registered:
        return
    _registered = True
    _register_realtime_hub()
    if settings.SIMULATE:
        _register_simulator()
    if settings.PERIODIC_JOBS == "inprocess":
        _register_periodic_jobs()
    if settings.METRICS_SAMPLER_IN_PROCESS:
        _register_metrics_sampler()


def _register_realtime_hub() -> None:
    """Start the WebSocket fan-out with the server: publishes from threads find its loop."""
    from realtime.hub import get_hub, stop_hub

    async def start() -> None:
        await get_hub().start()

    lifespan.on_startup("realtime-hub", start, stop_hub)


def _register_simulator() -> None:
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

    lifespan.on_startup("simulator", start, stop_)


def _register_periodic_jobs() -> None:
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

    lifespan.on_startup("periodic-jobs", start, stop_)


def _register_metrics_sampler() -> None:
    """Sample the cache metrics once a second in this process (the embedded default)."""
    from dashboard.metrics_sampler import default_sampler, start_sampler_thread

    running: dict[str, tuple[threading.Thread, threading.Event]] = {}

    async def start() -> None:
        running["t"] = start_sampler_thread(default_sampler())

    async def stop_() -> None:
        thread, stop = running["t"]
        stop.set()
        await asyncio.to_thread(thread.join, 5)

    lifespan.on_startup("metrics-sampler", start, stop_)
