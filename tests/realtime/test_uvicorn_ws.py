"""What the server reads from uvicorn's private protocol, checked against the pinned
uvicorn (realtime/uvicorn_ws.py): an upgrade that moves an attribute fails here, not
silently in production as a slower or ruder server."""

from __future__ import annotations

import asyncio
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
