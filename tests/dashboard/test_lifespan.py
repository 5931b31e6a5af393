"""The server's lifespan: helpers started and stopped, the runtime tuned once."""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import Any

import pytest

from dashboard.lifespan import LifespanApp


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()
    from realtime import runtime

    runtime.uninstall_pause_log()


async def test_startup_installs_the_runtime_tuning_without_a_freeze(unfrozen, db, settings):
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    await inbox.put({"type": "lifespan.startup"})
    await inbox.put({"type": "lifespan.shutdown"})
    assert gc.get_freeze_count() == 0
    frozen_at_startup: list[int] = []

    async def receive() -> dict[str, Any]:
        if sent == ["lifespan.startup.complete"]:
            frozen_at_startup.append(gc.get_freeze_count())
        return await inbox.get()

    await asyncio.wait_for(LifespanApp()({"type": "lifespan"}, receive, send), 10)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    # No start-up freeze (it won nothing; the heap policy freezes at 100 sockets).
    assert frozen_at_startup[0] == 0
    from realtime import runtime

    assert runtime._on_gc in gc.callbacks  # long pauses are logged from now on
    assert sys.getswitchinterval() == pytest.approx(settings.GIL_SWITCH_INTERVAL)


def test_the_helpers_are_the_settings_list_in_start_order(settings):
    from dashboard.background import in_process_helpers

    settings.SIMULATE = True
    settings.PERIODIC_JOBS = "inprocess"
    settings.METRICS_SAMPLER_IN_PROCESS = True
    names = [helper.name for helper in in_process_helpers()]
    assert names == ["realtime-hub", "simulator", "periodic-jobs", "metrics-sampler"]
    settings.SIMULATE = False
    settings.PERIODIC_JOBS = "off"
    settings.METRICS_SAMPLER_IN_PROCESS = False
    assert [helper.name for helper in in_process_helpers()] == ["realtime-hub"]
