"""What the server reads from uvicorn's private protocol, checked against the pinned
uvicorn (realtime/uvicorn_ws.py): an upgrade that moves an attribute fails here, not
silently in production as a slower or ruder server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

import pytest

from realtime import uvicorn_ws
from realtime.hub import get_hub


def test_the_patches_are_on_behind_the_pinned_uvicorn():
    import dashboard.asgi  # noqa: F401 - installs them, as every server does

    state = uvicorn_ws.status()
    assert state.active, state.reason
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    assert WebSocketsSansIOProtocol.handle_parser_exception is uvicorn_ws._handle_parser_exception


async def test_sockets_behind_the_real_server_take_the_native_path(server, world):
    from websockets.asyncio.client import connect

    async with connect(server):
        hub = get_hub()
        await asyncio.sleep(0.1)
        (conn,) = hub.connections
        assert conn.direct is not None  # the direct transport path
        assert conn.fd >= 0  # and the native send


def test_another_uvicorn_release_turns_the_patches_off(monkeypatch, caplog):
    import uvicorn

    monkeypatch.setattr(uvicorn_ws, "_status", uvicorn_ws._Status())
    monkeypatch.setattr(uvicorn, "__version__", "0.99.0")
    with caplog.at_level(logging.WARNING, logger="realtime.uvicorn_ws"):
        assert uvicorn_ws.install() is False
    assert not uvicorn_ws.status().active
    assert "0.99.0" in caplog.text


class FakeTransport:
    def __init__(self, **extra):
        self.extra = extra

    def get_extra_info(self, name, default=None):
        return self.extra.get(name, default)

    def is_closing(self):
        return False


class FakeProtocol:
    """The attributes of uvicorn's protocol that a direct write reads."""

    def __init__(self, extensions=(), transport=None):
        self.conn = type("Conn", (), {"extensions": list(extensions)})()
        self.transport = transport or FakeTransport()
        self.writable = asyncio.Event()
        self.close_sent = False

    async def send(self, message):
        return None


@pytest.fixture
def fake_uvicorn(monkeypatch):
    state = uvicorn_ws._Status()
    state.active, state.protocol = True, FakeProtocol
    monkeypatch.setattr(uvicorn_ws, "_status", state)
    return state


def test_a_socket_with_compression_gets_no_direct_writes(fake_uvicorn):
    assert uvicorn_ws.direct_socket(FakeProtocol().send, native=False) is not None
    assert uvicorn_ws.direct_socket(FakeProtocol(["permessage-deflate"]).send, native=True) is None

    async def other_send(message):
        return None

    assert uvicorn_ws.direct_socket(other_send, native=True) is None


def test_a_tls_socket_keeps_its_transport_but_never_the_native_send(fake_uvicorn):
    import socket

    with socket.socket() as sock:
        plain = FakeProtocol(transport=FakeTransport(socket=sock))
        tls = FakeProtocol(
            transport=FakeTransport(socket=sock, sslcontext=ssl.create_default_context())
        )
        assert uvicorn_ws.direct_socket(plain.send, native=True).fd == sock.fileno()
        direct = uvicorn_ws.direct_socket(tls.send, native=True)
        assert direct is not None and direct.fd == -1
        assert uvicorn_ws.direct_socket(plain.send, native=False).fd == -1


def test_a_protocol_missing_an_attribute_turns_direct_writes_off(fake_uvicorn, caplog):
    proto = FakeProtocol()
    del proto.writable
    with caplog.at_level(logging.WARNING, logger="realtime.uvicorn_ws"):
        assert uvicorn_ws.direct_socket(proto.send, native=True) is None
    assert not fake_uvicorn.active
    assert "writable" in caplog.text


class _Paused(asyncio.Protocol):
    """A server side that records flow control, as uvicorn's protocol does."""

    def __init__(self, made: asyncio.Future) -> None:
        self.made = made
        self.paused = False

    def connection_made(self, transport):
        self.transport = transport
        self.made.set_result(self)

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False


async def _idle_follows_the_transport() -> None:
    import socket

    loop = asyncio.get_running_loop()
    made: asyncio.Future = loop.create_future()
    server = await loop.create_server(lambda: _Paused(made), "127.0.0.1", 0)
    client = socket.create_connection(server.sockets[0].getsockname()[:2])
    client.setblocking(False)
    proto = await made
    proto.close_sent = False
    direct = uvicorn_ws.DirectSocket(proto, -1)
    assert direct.idle()
    while not proto.paused:  # a peer that does not read: the buffer fills, writing pauses
        proto.transport.write(b"x" * 65536)
        await asyncio.sleep(0)
    assert proto.transport.get_write_buffer_size() > 0 and not direct.idle()
    # The peer reads: the protocol is resumed before (never after) the buffer empties,
    # which is what lets ``idle`` skip the protocol's ``writable`` event.
    for _ in range(100_000):
        with contextlib.suppress(BlockingIOError):
            client.recv(1 << 20)
        await asyncio.sleep(0)
        if not proto.transport.get_write_buffer_size():
            break
    assert not proto.transport.get_write_buffer_size()
    assert not proto.paused and direct.idle()
    proto.close_sent = True
    assert not direct.idle()
    proto.close_sent = False
    proto.transport.close()
    assert not direct.idle()
    client.close()
    server.close()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_idle_is_false_while_bytes_wait_and_an_empty_buffer_means_resumed(loop):
    """``DirectSocket.idle``, the native send's per-socket test, reads no ``writable``:
    under asyncio's and uvloop's flow control an empty buffer means resumed."""
    import uvloop

    (uvloop.run if loop == "uvloop" else asyncio.run)(_idle_follows_the_transport())
