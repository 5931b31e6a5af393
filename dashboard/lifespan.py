"""ASGI lifespan: start and stop the background helpers that live in the server process.

Each helper is a (name, start, stop) registered with ``on_startup``; the demo simulator
registers itself when ``SIMULATE`` is on. Helpers run in threads or tasks and must stop
promptly when asked.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from dashboard import gcwatch

logger = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
_startup: list[tuple[str, Hook, Hook]] = []


def on_startup(name: str, start: Hook, stop: Hook) -> None:
    """Register a helper to start with the server and stop with it."""
    _startup.append((name, start, stop))


class LifespanApp:
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from dashboard.background import register_default_helpers

        register_default_helpers()
        started: list[tuple[str, Hook]] = []
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for name, start, stop in _startup:
                        await start()
                        started.append((name, stop))
                        logger.info("started %s", name)
                except Exception as exc:
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                # What exists now (Django, the apps, the URL conf) lives as long as the
                # process: keep it out of the collector's full passes, which otherwise
                # walk it all and stopped the server for 100-190 ms each under load.
                gc.collect()
                gc.freeze()
                gcwatch.install(float(settings.GC_PAUSE_LOG_MS))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for name, stop in reversed(started):
                    try:
                        await stop()
                    except Exception:
                        logger.exception("stopping %s failed", name)
                await send({"type": "lifespan.shutdown.complete"})
                return
