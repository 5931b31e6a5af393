"""The server's lifespan: helpers started and stopped, the start-up heap frozen."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

import pytest

from dashboard.lifespan import LifespanApp


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()
    from dashboard import gcwatch

    gcwatch.uninstall()


async def test_startup_freezes_what_exists_so_full_collections_skip_it(unfrozen, db):
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
    assert frozen_at_startup[0] > 10_000  # Django, the apps, the URL conf
    from dashboard import gcwatch

    assert gcwatch._on_gc in gc.callbacks  # long pauses are logged from now on


@pytest.mark.parametrize("threshold_ms, logged", [(0, True), (10_000, False)])
def test_a_collection_is_logged_as_a_warning_only_past_the_threshold(caplog, threshold_ms, logged):
    from dashboard import gcwatch

    gcwatch.install(threshold_ms)
    try:
        with caplog.at_level(logging.WARNING, logger="dashboard.gcwatch"):
            gc.collect()
    finally:
        gcwatch.uninstall()
    records = [r for r in caplog.records if r.name == "dashboard.gcwatch"]
    assert len(records) == (1 if logged else 0)
    if logged:
        assert "garbage collection paused the process" in records[0].getMessage()
        assert records[0].gc_generation == 2  # type: ignore[attr-defined]


def test_a_collection_that_waited_in_a_finalizer_says_how_little_of_it_was_collecting(caplog):
    from dashboard import gcwatch

    class Sleeper:
        def __del__(self) -> None:
            time.sleep(0.08)  # off the CPU, as a finalizer that handed the GIL away

    cycle = Sleeper()
    cycle.self = cycle  # type: ignore[attr-defined]
    del cycle
    gcwatch.install(50)
    try:
        with caplog.at_level(logging.WARNING, logger="dashboard.gcwatch"):
            gc.collect(0)  # the young cycle only: the test process's own heap is large
    finally:
        gcwatch.uninstall()
    (record,) = [r for r in caplog.records if r.name == "dashboard.gcwatch"]
    assert record.gc_pause_ms >= 80  # type: ignore[attr-defined]
    assert record.gc_cpu_ms < record.gc_pause_ms / 2  # type: ignore[attr-defined]
    assert "of it collecting" in record.getMessage()
