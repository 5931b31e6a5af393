"""Everything that reaches into uvicorn's websockets-sansio protocol, in one place.

uvicorn has no public API for these; each reads or replaces a private part of
``WebSocketsSansIOProtocol`` as uvicorn ``TESTED_UVICORN`` has it. ``install()`` checks
that version once, when the ASGI application is imported (dashboard/asgi.py), and
installs all three or none; ``status()`` says which, and the test suite asserts that
they are on behind the pinned uvicorn, so an upgrade that moves an attribute fails a test
instead of quietly making the server slower or less polite.

1. **Direct writes** (``direct_socket``): the hub writes a frame's bytes, built once per
   event, straight to a socket's transport (or, with the native ``send_many``, to its
   descriptor) instead of through the ASGI ``send``. Only where that is correct:

   - no WebSocket extension was negotiated (per-message deflate would make each
     socket's bytes different);
   - for the native send, also a plain TCP socket: the transport reports no TLS
     (``sslcontext``, ``ssl_object``, ``cipher``) and owns a stream socket. Under TLS
     the descriptor carries ciphertext, and bytes written to it would corrupt the stream;
     the transport's own ``write`` encrypts, so a TLS socket keeps the direct transport
     path and only loses the native one.

2. **Parser failures keep their close frame** (``_handle_parser_exception``): when
   websockets' parser fails a connection (a frame over ``--ws-max-size``: 1009; bad
   UTF-8: 1007; a protocol error: 1002), uvicorn writes the close frame and closes the
   transport at once. The rest of the offending frame is usually still arriving, and a
   socket closed with unread data answers it with a TCP reset, which can destroy the
   close frame before the client reads it: the client sees 1006 instead of 1009 (seen in
   ``tests/realtime/test_fail_close.py``). RFC 6455 7.1.7 and websockets' own servers
   send the close frame, half-close (FIN), discard what still comes, and close once the
   client has closed or a timeout has passed.

3. **One line for a client's invalid UTF-8** (``_QuietInvalidUtf8``): uvicorn logs an
   ERROR with a traceback for every text frame that is not UTF-8, although it closes the
   socket correctly with 1007; an anonymous client could flood the log with them. The
   record becomes one INFO line.
"""

from __future__ import annotations

import inspect
import logging
import socket
from typing import Any

logger = logging.getLogger(__name__)

#: The uvicorn release (major.minor) whose private protocol attributes this module reads.
TESTED_UVICORN = "0.54"

#: The protocol's instance attributes a direct write reads.
PROTOCOL_ATTRIBUTES = ("conn", "transport", "writable", "close_sent")

#: uvicorn's message for a text frame that is not UTF-8 (websockets_sansio_impl.py).
INVALID_UTF8_MESSAGE = "Invalid UTF-8 sequence received from client."

# Transport extras that say bytes written to the descriptor would not reach the peer as is.
_WRAPPED_EXTRAS = ("sslcontext", "ssl_object", "cipher")


class _Status:
    """Whether the patches are installed, and why not."""

    def __init__(self) -> None:
        self.active = False
        self.reason = "not installed"
        self.protocol: Any = None  # the class direct writes are taken behind


_status = _Status()


def status() -> _Status:
    """Return whether ``install()`` took effect (``active``) and, if not, ``reason``."""
    return _status


def _disable(reason: str) -> None:
    _status.active = False
    _status.protocol = None
    _status.reason = reason
    logger.warning("uvicorn fast paths off: %s", reason)


# --------------------------------------------------------------------------------------
# Direct writes
# --------------------------------------------------------------------------------------


class DirectSocket:
    """A socket whose frames may bypass the ASGI ``send``: its transport, and its
    descriptor when the native send may write to it (-1 otherwise)."""

    __slots__ = ("fd", "proto", "transport")

    def __init__(self, proto: Any, fd: int) -> None:
        self.proto = proto
        self.transport = proto.transport
        self.fd = fd

    def ready(self) -> bool:
        """Whether uvicorn would write now: not paused, not closing, no close sent."""
        proto = self.proto
        return proto.writable.is_set() and not proto.close_sent and not self.transport.is_closing()

    def idle(self) -> bool:
        """Whether bytes written to the descriptor now reach the peer in order: no close
        sent, the transport open and nothing waiting in its buffer (the native send's
        test). An empty buffer also means not paused: asyncio's flow control resumes a
        protocol before its transport's buffer can empty, so ``writable`` is not read."""
        transport = self.transport
        return (
            not self.proto.close_sent
            and not transport.is_closing()
            and not transport.get_write_buffer_size()
        )


def plain_socket_fd(transport: Any) -> int:
    """Return the descriptor of ``transport``'s socket when bytes written to it reach the
    peer as they are (no TLS or other layer in between); otherwise -1."""
    if any(transport.get_extra_info(name) is not None for name in _WRAPPED_EXTRAS):
        return -1
    sock = transport.get_extra_info("socket")
    if sock is None or sock.type != socket.SOCK_STREAM:
        return -1
    return int(sock.fileno())


def direct_socket(send: Any, *, native: bool) -> DirectSocket | None:
    """Return the socket behind the ASGI ``send`` when frames may be written to it
    directly; ``native``: whether its descriptor may be used too. None: use ``send``."""
    proto: Any = getattr(send, "__self__", None)
    if not _status.active or type(proto) is not _status.protocol:
        return None
    missing = [name for name in PROTOCOL_ATTRIBUTES if not hasattr(proto, name)]
    if missing:
        _disable(f"uvicorn's protocol has no {', '.join(missing)}")
        return None
    if proto.conn.extensions:
        return None
    return DirectSocket(proto, plain_socket_fd(proto.transport) if native else -1)


# --------------------------------------------------------------------------------------
# Parser failures and their log line
# --------------------------------------------------------------------------------------


def _handle_parser_exception(self: Any) -> None:
    if self.close_sent:
        # Already failed: websockets' parser now discards whatever still comes.
        return
    close = self.conn.close_sent
    message = {"type": "websocket.disconnect", "code": close.code, "reason": close.reason}
    self.queue.put_nowait(message)
    self.transport.write(b"".join(self.conn.data_to_send()))  # the close frame
    self.close_sent = True
    if self.transport.can_write_eof():
        self.transport.write_eof()  # FIN after the close frame; keep reading
    # The client closes on our FIN (its EOF ends the transport); if it does not, give up.
    self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)


class _QuietInvalidUtf8(logging.Filter):
    """Turn uvicorn's ERROR and traceback for a client's invalid UTF-8 into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == INVALID_UTF8_MESSAGE:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = "invalid UTF-8 in a client's text frame: closed with 1007"
            record.exc_info = record.exc_text = None
        return True


_QUIET_UTF8 = _QuietInvalidUtf8()


def install() -> bool:
    """Install the three patches if uvicorn is the release they were written against;
    return whether they are on (idempotent; without uvicorn, off)."""
    if _status.active:
        return True
    try:
        import uvicorn
        from uvicorn.protocols.websockets import websockets_sansio_impl as impl
    except ImportError:  # pragma: no cover - served by another ASGI server
        _status.reason = "uvicorn is not installed"
        return False
    version = ".".join(uvicorn.__version__.split(".")[:2])
    if version != TESTED_UVICORN:
        _disable(f"uvicorn {uvicorn.__version__} is not the tested {TESTED_UVICORN}.x")
        return False
    protocol = getattr(impl, "WebSocketsSansIOProtocol", None)
    try:
        source = inspect.getsource(impl)
    except OSError:  # pragma: no cover - installed without its sources
        source = ""
    if (
        protocol is None
        or not callable(getattr(protocol, "handle_parser_exception", None))
        or INVALID_UTF8_MESSAGE not in source
    ):
        _disable("uvicorn's websockets-sansio protocol is not the one these patches read")
        return False
    protocol.handle_parser_exception = _handle_parser_exception
    uvicorn_logger = logging.getLogger("uvicorn.error")
    if _QUIET_UTF8 not in uvicorn_logger.filters:
        uvicorn_logger.addFilter(_QUIET_UTF8)
    _status.active, _status.protocol, _status.reason = True, protocol, ""
    return True
