"""The event loop of this process's server, for code running in other threads.

``get_hub`` marks the loop it runs on (``mark``) and ``stop_hub`` forgets it
(``forget``); the broadcasting module schedules publishes on it (``server_loop``).
"""

from __future__ import annotations

import asyncio

_server_loop: asyncio.AbstractEventLoop | None = None


def mark(loop: asyncio.AbstractEventLoop) -> None:
    """``loop`` serves this process (the hub's loop)."""
    global _server_loop
    _server_loop = loop


def forget(loop: asyncio.AbstractEventLoop) -> None:
    """``loop`` no longer serves this process (its hub stopped)."""
    global _server_loop
    if _server_loop is loop:
        _server_loop = None


def server_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop of this process's server, if one runs."""
    loop = _server_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop
