"""The server's lifespan: helpers started and stopped, the start-up heap frozen."""

from __future__ import annotations

import asyncio
import gc
import logging
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
