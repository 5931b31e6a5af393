"""One socket as the hub sees it: its frames written at once, or queued and drained in order.

A ``Connection`` has three ways in (``push`` one frame, ``push_many`` a batch, and the
fan-out's native send, which asks ``writable_now`` first), one test of whether bytes may
go straight to the transport (``_direct_ok``), one bounded outbox and one drain loop (the
writer task) that empties it through the ASGI ``send``. A socket too far behind is closed
with 4408 and costs the others nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings

from dashboard import prometheus
from realtime import protocol
from realtime.protocol import UserRef
from realtime.uvicorn_ws import direct_socket

if TYPE_CHECKING:
    from realtime.hub import Hub
    from realtime.topics import Subscription

try:  # the fan-out's sends in C with the GIL released (setup.py; optional)
    from realtime._sendmany import send_many
except ImportError:  # pragma: no cover - built by ``pip install``; without it, transports
    send_many = None

logger = logging.getLogger(__name__)

# Seconds a close frame may take to go out before the connection is dropped.
CLOSE_WAIT = 2.0


def wire(text: str) -> bytes:
    """Return ``text`` as one unmasked WebSocket text frame (server to client)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


class Connection:
    """One socket: a bounded outbox drained by one writer task.

    Where uvicorn's socket allows it (realtime/uvicorn_ws.py decides: no compression
    negotiated; for the native send also no TLS) a frame is written straight to the
    socket's transport while it is writable and nothing is queued: the frame bytes are
    built once per event and shared by every socket, so a delivery costs one
    ``transport.write``. A socket whose transport pushes back gets its frames queued (in
    order) and drained by its writer through the ASGI ``send``.
    """

    __slots__ = (
        "auth_deadline",
        "close_sent",
        "closed",
        "direct",
        "fd",
        "hub",
        "last_rx",
        "on_closed",
        "outbox",
        "queue_limit",
        "send",
        "subs",
        "user",
        "user_entry",
        "waiter",
        "writer",
    )

    def __init__(self, hub: Hub, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.hub = hub
        self.send = send
        self.outbox: deque[str] = deque()
        self.queue_limit = int(settings.WS_SEND_QUEUE)
        self.waiter: asyncio.Future[None] | None = None
        self.writer: asyncio.Task[None] | None = None
        self.closed = False
        self.close_sent = False
        self.user: Any = None
        self.user_entry: UserRef | None = None
        self.subs: dict[str, Subscription] = {}
        now = hub.loop.time()
        self.last_rx = now
        self.auth_deadline: float | None = now + float(settings.WS_AUTH_TIMEOUT)
        self.on_closed: Callable[[], None] | None = None
        native = send_many is not None and bool(settings.WS_NATIVE_SEND)
        self.direct = direct_socket(send, native=native)
        # The socket's descriptor when fan-outs may write to it natively (-1: never).
        self.fd = self.direct.fd if self.direct is not None else -1

    # The one writable check ----------------------------------------------------------

    def _direct_ok(self) -> bool:
        """Whether a frame may be written to the transport now: the socket is open, has a
        transport we may write to that takes bytes, and nothing of it is queued here."""
        direct = self.direct
        return direct is not None and not self.closed and not self.outbox and direct.ready()

    def writable_now(self) -> bool:
        """Whether bytes written to the socket now go out in order: as ``_direct_ok``, and
        nothing left in the transport's own buffer either (the native send's test)."""
        direct = self.direct
        return direct is not None and not self.closed and not self.outbox and direct.idle()

    # The three write paths -----------------------------------------------------------

    def push(self, text: str, frame: bytes | None = None) -> None:
        """Send or queue one frame; never blocks. A socket too far behind is closed.

        ``frame`` is ``wire(text)`` when the caller shares it between sockets.
        """
        if self._direct_ok():
            self.direct.transport.write(frame if frame is not None else wire(text))  # type: ignore[union-attr]
            self.hub.frames_pushed += 1
            return
        if self.closed:
            return
        if len(self.outbox) >= self.queue_limit:
            logger.info("closing a slow socket (%s frames queued)", len(self.outbox))
            self.close_soon(protocol.CLOSE_SLOW_CONSUMER)
            return
        self.outbox.append(text)
        self.hub.frames_pushed += 1
        if self.writer is None:  # started on first use: an idle socket costs no task
            self.writer = self.hub.loop.create_task(self._drain())
            return
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def push_many(self, events: list[tuple[int, str, bytes]]) -> None:
        """Send or queue several frames (in order), in one write when it can be direct."""
        if self._direct_ok():
            self.direct.transport.write(b"".join(frame for _, _, frame in events))  # type: ignore[union-attr]
            self.hub.frames_pushed += len(events)
            return
        for _, text, frame in events:
            self.push(text, frame)

    def push_frame(self, frame: Any) -> None:
        """Encode and send one frame (replies: ``welcome``, ``subscribed``, ``error``...)."""
        self.push(protocol.dumps(frame))

    # The one drain loop --------------------------------------------------------------

    async def _drain(self) -> None:
        """The writer: empty the outbox through the ASGI ``send``, in order, then wait."""
        outbox = self.outbox
        send = self.send
        loop = self.hub.loop
        try:
            while True:
                if not outbox:
                    waiter = self.waiter = loop.create_future()
                    await waiter
                    continue
                await send({"type": "websocket.send", "text": outbox.popleft()})
        except asyncio.CancelledError:
            raise
        except Exception:
            # The peer is gone (the server raises on a send after disconnect).
            logger.debug("socket writer stopped", exc_info=True)
            self.close_sent = True
            self.hub.detach(self)

    # Closing -------------------------------------------------------------------------

    def close_soon(self, code: int) -> asyncio.Task[None] | None:
        """Forget the socket at once and send the close frame in the background."""
        if self.close_sent:
            return None
        self.close_sent = True
        self.hub.detach(self)
        prometheus.ws_closed(code)
        return self.hub.loop.create_task(self._send_close(code))

    async def close(self, code: int) -> None:
        """Close the socket with ``code`` and forget it; idempotent."""
        task = self.close_soon(code)
        if task is not None:
            await task

    async def _send_close(self, code: int) -> None:
        # A stuck peer may never let the close frame through: wait on it briefly, then
        # drop the connection, or it would linger with its buffers until the peer leaves.
        try:
            await asyncio.wait_for(self.send({"type": "websocket.close", "code": code}), CLOSE_WAIT)
        except Exception:
            if self.direct is not None:
                self.direct.transport.abort()
