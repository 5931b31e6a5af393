"""Fixtures of the realtime tests: fast limits, socket helpers, a private redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from realtime.hub import stop_hub
from tests.support import REDIS_SERVER, RedisServer, free_port


@pytest.fixture(autouse=True)
def fast_realtime(settings):
    """Short timeouts so liveness rules are tested in well under a second."""
    settings.WS_SWEEP_INTERVAL = 0.05
    settings.REALTIME_HEALTH_INTERVAL = 0.2
    settings.REALTIME_HEALTH_TIMEOUT = 1.0
    settings.REALTIME_PUBLISH_TIMEOUT = 1.0
    settings.PRESENCE_REDIS_URL = ""
    return settings


@pytest.fixture(autouse=True)
async def _stop_hub_after():
    """Each test's event loop gets its own hub; stop it with the test."""
    yield
    await stop_hub()


# --------------------------------------------------------------------------------------
# Sockets
# --------------------------------------------------------------------------------------


def application():
    from dashboard.asgi import application as app

    return app


class Socket:
    """A WebsocketCommunicator with JSON helpers and a default timeout."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.c = communicator

    async def send(self, frame: Any) -> None:
        await self.c.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        output = await self.c.receive_output(timeout)
        assert output["type"] == "websocket.send", output
        return json.loads(output["text"])

    async def recv_type(self, kind: str, timeout: float = 3) -> dict[str, Any]:
        """Return the next frame of type ``kind``, skipping presence frames."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == kind:
                return frame
            assert frame["type"] == "presence", frame

    async def closed_with(self, timeout: float = 3) -> int:
        while True:
            output = await self.c.receive_output(timeout)
            if output["type"] == "websocket.close":
                return output.get("code", 1000)

    async def nothing(self, timeout: float = 0.2) -> bool:
        return await self.c.receive_nothing(timeout)

    async def close(self) -> None:
        with contextlib.suppress(BaseException):
            await self.c.disconnect(timeout=2)


def token_for(user) -> str:
    return str(AccessToken.for_user(user))


async def open_socket(
    user=None, *, origin: str | None = None, session_user=None, auth: bool = True
) -> Socket:
    """Connect; with ``user`` authenticate by token frame and swallow ``welcome``."""
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if session_user is not None:
        client = Client()
        await database_sync_to_async(client.force_login)(session_user)
        cookie = client.cookies["sessionid"].value
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application(), "/ws/live/", headers=headers)
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    sock = Socket(communicator)
    if user is not None and auth:
        await sock.send({"type": "auth", "token": token_for(user)})
        welcome = await sock.recv()
        assert welcome["type"] == "welcome", welcome
    return sock


@pytest.fixture
async def sockets():
    """Open sockets through ``sockets.open(...)``; all are closed after the test."""

    class Pool:
        def __init__(self) -> None:
            self.items: list[Socket] = []

        async def open(self, *args: Any, **kwargs: Any) -> Socket:
            sock = await open_socket(*args, **kwargs)
            self.items.append(sock)
            return sock

    pool = Pool()
    yield pool
    for sock in pool.items:
        await sock.close()


# --------------------------------------------------------------------------------------
# Writes (each appends exactly one event)
# --------------------------------------------------------------------------------------


def comment(world, text: str = "hello", actor=None) -> int:
    """Comment on the cohort's first event; return the seq of the appended event."""
    from dashboard.services.reactions import comment_add

    comment_add(actor=actor or world.mentor, cohort_id=world.cohort.pk, seq=1, text=text)
    world.cohort.refresh_from_db()
    return world.cohort.head_seq


async def acomment(world, text: str = "hello", actor=None) -> int:
    return await database_sync_to_async(comment)(world, text, actor)


async def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


# --------------------------------------------------------------------------------------
# A private redis-server (never the machine's shared one)
# --------------------------------------------------------------------------------------


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of this test alone, on a free port (REDIS_URL is never touched)."""
    if not os.path.exists(REDIS_SERVER):
        pytest.fail("redis-server is needed for the Redis tests")
    server = RedisServer()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture
def redis_layer(settings, redis_server):
    """Switch the channel layer and presence of this process to the private Redis."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_server.url], "prefix": "t"},
        }
    }
    settings.PRESENCE_REDIS_URL = redis_server.url
    channel_layers.backends.clear()
    yield redis_server
    channel_layers.backends.clear()


# --------------------------------------------------------------------------------------
# A real server
# --------------------------------------------------------------------------------------


@pytest.fixture
async def server(transactional_db, settings):
    """uvicorn on this test's loop, serving the project's ASGI application."""
    import uvicorn

    from dashboard import serve
    from dashboard.asgi import application

    settings.WS_NATIVE_SEND = True
    port = free_port()
    # The options of every server (dashboard/serve.py); this one runs on the test's loop,
    # where each test stops its own hub (_stop_hub_after), so without lifespan.
    options = {**serve.OPTIONS, "lifespan": "off", "log_level": "warning"}
    config = uvicorn.Config(application, host="127.0.0.1", port=port, **options)
    srv = uvicorn.Server(config)
    task = asyncio.ensure_future(srv.serve())
    await wait_for(lambda: srv.started)
    yield f"ws://127.0.0.1:{port}/ws/live/"
    srv.should_exit = True
    await asyncio.wait_for(task, 10)
