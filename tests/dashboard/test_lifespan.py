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


def test_a_collection_longer_than_the_threshold_is_logged_as_a_warning(caplog):
    from dashboard import gcwatch

    gcwatch.install(0)
    try:
        with caplog.at_level(logging.WARNING, logger="dashboard.gcwatch"):
            gc.collect()
    finally:
        gcwatch.uninstall()
    (record,) = [r for r in caplog.records if r.name == "dashboard.gcwatch"]
    assert "garbage collection paused the process" in record.getMessage()
    assert record.gc_generation == 2  # type: ignore[attr-defined]


def test_short_collections_are_not_logged(caplog):
    from dashboard import gcwatch

    gcwatch.install(10_000)
    try:
        with caplog.at_level(logging.WARNING, logger="dashboard.gcwatch"):
            gc.collect()
    finally:
        gcwatch.uninstall()
    assert not [r for r in caplog.records if r.name == "dashboard.gcwatch"]
