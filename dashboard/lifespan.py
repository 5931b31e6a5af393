"""ASGI lifespan: tune the runtime and start the server process's helpers; stop them.

The helpers are ``dashboard.background.in_process_helpers()`` (the realtime hub, and
as the settings ask the demo simulator, the periodic jobs and the cache metrics
sampler); the runtime tuning is ``realtime.runtime.install()``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from dashboard.background import Hook, in_process_helpers
from realtime import runtime

logger = logging.getLogger(__name__)


class LifespanApp:
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started: list[tuple[str, Hook]] = []
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for helper in in_process_helpers():
                        await helper.start()
                        started.append((helper.name, helper.stop))
                        logger.info("started %s", helper.name)
                except Exception as exc:
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                # Last: the runtime tuning (switch interval, pause log) for the server.
                runtime.install(
                    switch_interval=float(settings.GIL_SWITCH_INTERVAL),
                    pause_log_ms=float(settings.GC_PAUSE_LOG_MS),
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for name, stop in reversed(started):
                    try:
                        await stop()
                    except Exception:
                        logger.exception("stopping %s failed", name)
                await send({"type": "lifespan.shutdown.complete"})
                return
