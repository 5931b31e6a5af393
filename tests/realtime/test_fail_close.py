"""A connection failed by the WebSocket parser keeps its close frame (realtime/uvicorn_ws.py).

A frame over 64 KiB is refused with 1009 before its payload has all arrived. Closing the
socket at once makes the kernel answer the rest of the payload with a reset, which can
destroy the close frame before the client reads it (the client then sees 1006). The
server must send the close frame, half-close, and keep reading until the client closes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from urllib.parse import urlparse

import pytest


def oversized_frame(size: int) -> bytes:
    """A masked client text frame of ``size`` bytes (mask of zeros: payload as is)."""
    return bytes([0x81, 0x80 | 127]) + struct.pack("!Q", size) + b"\0\0\0\0" + b"x" * size


def refuse_and_keep_sending(port: int) -> tuple[int, list[str]]:
    """Send an oversized frame and more after it; return the close code and send errors."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(
            b"GET /ws/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 101"), data
        data = data.split(b"\r\n\r\n", 1)[1]
        sock.sendall(oversized_frame(70_000))
        while len(data) < 4:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data[0] == 0x88, data[:16]  # a close frame first
        code = struct.unpack("!H", data[2:4])[0]
        # More of what a client was sending: a server that closed its socket resets the
        # connection, and the second write after that fails.
        errors = []
        for _ in range(3):
            try:
                sock.sendall(b"y" * 100_000)
            except OSError as exc:
                errors.append(type(exc).__name__)
            time.sleep(0.1)
        return code, errors
    finally:
        sock.close()


@pytest.mark.django_db(transaction=True)
async def test_an_oversized_frame_gets_1009_and_the_connection_is_not_reset(server):
    port = urlparse(server).port
    assert port is not None
    code, errors = await asyncio.to_thread(refuse_and_keep_sending, port)
    assert code == 1009
    assert errors == []


def send_invalid_utf8(port: int) -> int:
    """Send a text frame that is not UTF-8; return the close code the server answers."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(
            b"GET /ws/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        data = data.split(b"\r\n\r\n", 1)[1]
        payload = b"\xff\xfe\xfd"
        sock.sendall(bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
        while len(data) < 4:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data[0] == 0x88, data[:16]
        return struct.unpack("!H", data[2:4])[0]
    finally:
        sock.close()


@pytest.mark.django_db(transaction=True)
async def test_invalid_utf8_is_closed_with_1007_and_logged_as_one_line(server):
    # An anonymous client can send this as often as it likes: one INFO line each, never
    # an ERROR with a traceback.
    port = urlparse(server).port
    assert port is not None
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(handler)
    try:
        assert await asyncio.to_thread(send_invalid_utf8, port) == 1007
        await asyncio.sleep(0.1)
    finally:
        uvicorn_log.removeHandler(handler)
    assert [(r.levelno, r.exc_info, r.getMessage()) for r in records] == [
        (logging.INFO, None, "invalid UTF-8 in a client's text frame: closed with 1007")
    ]
