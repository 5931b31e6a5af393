"""A failed WebSocket connection ends with its close frame delivered, not a TCP reset.

When websockets' parser fails a connection (a frame over ``--ws-max-size``: 1009; bad
UTF-8: 1007; a protocol error: 1002), uvicorn 0.54's websockets-sansio protocol writes
the close frame and closes the transport at once. The rest of the offending frame is
usually still arriving, and a socket closed with unread data answers it with a TCP
reset, which can destroy the close frame before the client reads it: the client sees
1006 instead of the spec's 1009 (seen in ``tests/reliability/test_hostile_frames.py``).

RFC 6455 7.1.7 and websockets' own servers do it the other way: send the close frame,
half-close (FIN), discard what still comes, and close once the client has closed or a
timeout has passed. ``install()`` makes uvicorn's protocol do that. It is called when
the ASGI application is imported, so every way of serving it (``make run``, the
container, the tests' and the benchmark's servers) gets it.
"""

from __future__ import annotations

from typing import Any


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


def install() -> None:
    """Patch uvicorn's websockets-sansio protocol (idempotent; no-op without uvicorn)."""
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError:  # pragma: no cover - served by another ASGI server
        return
    WebSocketsSansIOProtocol.handle_parser_exception = _handle_parser_exception  # type: ignore[method-assign]
