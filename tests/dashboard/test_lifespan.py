"""The server's lifespan: helpers started and stopped, the start-up heap frozen."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from dashboard.lifespan import LifespanApp


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


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
