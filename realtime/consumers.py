"""The one WebSocket endpoint, ``/ws/live/``: authenticate, authorise, dispatch on ``type``.

The consumer is thin: it owns no channel-layer channel and joins no group (the process's
``Hub`` does that once per topic), and it sends through the hub's per-socket outbox, so a
published event costs no task, no encoding and no thread hop per socket.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from django.conf import settings
from django.db import DatabaseError

from dashboard.selectors.access import can_see_cache_metrics
from dashboard.selectors.privacy import Viewer, viewer_for, viewer_role
from realtime import protocol
from realtime.hub import Connection, LayerLost, get_hub

logger = logging.getLogger(__name__)


class ClientError(Exception):
    """A valid frame that cannot be served (no such topic, too many, too fast): answered
    with an ``error`` frame, the socket stays open. Frames that break the schema are
    ``protocol.FrameError``s, answered the same way."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------------------
# Authentication helpers (ORM through database_sync_to_async)
# --------------------------------------------------------------------------------------


def _validated_token(token: str) -> Any:
    """Return the validated JWT access token (signature, expiry: no query), or None."""
    from rest_framework_simplejwt.tokens import AccessToken

    try:
        return AccessToken(token)  # type: ignore[arg-type]
    except Exception:
        return None


def _token_user(validated: Any) -> Any:
    """Return the active user a validated token names, or None."""
    from rest_framework_simplejwt.authentication import JWTAuthentication

    try:
        user = JWTAuthentication().get_user(validated)
    except Exception:
        return None
    return user if getattr(user, "is_active", False) else None


def _user_from_token(token: str) -> Any:
    """Return the active user of a valid JWT access token, or None."""
    validated = _validated_token(token)
    return None if validated is None else _token_user(validated)


def _has_origin(scope: dict[str, Any]) -> bool:
    return any(name == b"origin" for name, _ in scope.get("headers", []))


class _RateLimit:
    """A token bucket: ``rate`` units (frames, replayed events) a second sustained,
    ``burst`` above it."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def allow(self, cost: float = 1) -> bool:
        """Take ``cost`` units if the bucket holds them; False (nothing taken) if not."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def spend(self, cost: float) -> None:
        """Take ``cost`` units whatever the bucket holds (it may go into debt)."""
        self.tokens -= cost


# --------------------------------------------------------------------------------------
# The consumer
# --------------------------------------------------------------------------------------


class LiveConsumer(AsyncConsumer):
    """``/ws/live/``: the protocol of docs/realtime.md."""

    # No per-socket channel: the hub holds the process's one subscription per topic.
    channel_layer_alias = "__realtime_no_layer__"

    conn: Connection | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' loop, without a task per message.

        ``AsyncConsumer`` waits for each message in a new task through
        ``asyncio.wait`` (``channels.utils.await_many_dispatch``, made for a socket and a
        channel at once). A socket here has only the socket, and its tasks would live
        from one frame to the next (20 s between a client's pings): ~30 objects a frame
        moving through the collector's young generations, which at 5,000 sockets held
        ~90,000 objects and made each young collection a 70-90 ms pause
        (docs/performance.md). Awaiting ``receive()`` directly keeps one coroutine.
        """
        self.scope = scope
        self.channel_layer = None  # no per-socket channel (channel_layer_alias)
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Skip AsyncConsumer.dispatch's per-message aclose_old_connections() thread hop:
        # the ORM runs only under database_sync_to_async, which does that itself.
        kind = message["type"]
        if kind == "websocket.receive":
            await self.websocket_receive(message)
        elif kind == "websocket.connect":
            await self.websocket_connect(message)
        elif kind == "websocket.disconnect":
            await self.websocket_disconnect(message)

    # Connecting ------------------------------------------------------------------------

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        hub = get_hub()
        await hub.start()
        await self.send({"type": "websocket.accept"})
        self.conn = hub.connect(self.scope.get("realtime.send", self.base_send))
        self.rate = _RateLimit(float(settings.WS_RATE_PER_SECOND), float(settings.WS_RATE_BURST))
        # Events this socket may have replayed: a client looping subscribe(since) /
        # unsubscribe would otherwise pull the log again and again (issue 17, 4.10).
        self.replay_budget = _RateLimit(
            float(settings.WS_REPLAY_RATE), float(settings.WS_REPLAY_BUDGET)
        )
        # A subscribe costs a presence change and a read; a socket's are rate-limited.
        self.subscribes = _RateLimit(
            float(settings.WS_SUBSCRIBE_RATE), float(settings.WS_SUBSCRIBE_BURST)
        )
        self.max_bytes = int(settings.WS_MAX_FRAME_BYTES)
        self.viewers: dict[int, Viewer] = {}  # cohort id -> what this user may see there
        user = self.scope.get("user")
        # A browser (it sends Origin, checked by the validator) may use its session; a
        # program (no Origin) must authenticate with a token frame.
        if _has_origin(self.scope) and user is not None and user.is_authenticated:
            self._authenticated(user, ref=None)

    def _authenticated(self, user: Any, ref: Any) -> None:
        assert self.conn is not None
        self.conn.user = user
        self.conn.user_entry = protocol.user_ref(user)
        self.conn.auth_deadline = None
        if not self.conn.hub.user_socket_add(self.conn):
            # Sockets are cheap to open and each can ask for replays: one user's are capped.
            self.conn.close_soon(protocol.CLOSE_POLICY)
            return
        frame: protocol.WelcomeFrame = {"type": "welcome", "user": self.conn.user_entry}  # type: ignore[typeddict-item]
        if ref is not None:
            frame["ref"] = ref
        self.conn.push_frame(frame)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.conn is not None:
            self.conn.close_sent = True
            self.conn.hub.detach(self.conn)
        raise StopConsumer()

    async def _close(self, code: int) -> None:
        if self.conn is not None:
            await self.conn.close(code)
        raise StopConsumer()

    # Receiving -------------------------------------------------------------------------

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        conn = self.conn
        if conn is None or conn.closed:
            return
        text = message.get("text")
        data = text if text is not None else message.get("bytes") or b""
        size = len(data)
        if isinstance(data, str) and size * 4 > self.max_bytes:
            size = len(data.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:
            await self._close(protocol.CLOSE_TOO_BIG)
        if not self.rate.allow():
            await self._close(protocol.CLOSE_POLICY)
        conn.last_rx = conn.hub.loop.time()

        try:
            frame = protocol.parse_client_frame(data, authenticated=conn.user is not None)
        except protocol.FrameError as exc:
            if conn.user is None:  # the first frame of a socket without a session
                await self._close(protocol.CLOSE_UNAUTHENTICATED)
            conn.push_frame(protocol.error_frame(exc.code, exc.message, exc.ref))
            return
        ref = frame.get("ref")
        try:
            if frame["type"] == "auth":
                await self._authenticate(frame, ref)
            elif frame["type"] == "ping":
                pong: protocol.PongFrame = {"type": "pong"}
                if ref is not None:
                    pong["ref"] = ref
                conn.push_frame(pong)
            elif frame["type"] == "subscribe":
                await self._subscribe(frame, ref)
            else:
                self._unsubscribe(frame, ref)
        except ClientError as exc:
            conn.push_frame(protocol.error_frame(exc.code, exc.message, ref))

    async def _authenticate(self, frame: protocol.AuthFrame, ref: Any) -> None:
        """The first frame of a socket without a session must be a valid ``auth``."""
        validated = _validated_token(frame["token"])
        if validated is None:
            await self._close(protocol.CLOSE_UNAUTHENTICATED)
        if self.conn is not None:
            # A valid token arrived in time: the user lookup may queue behind others
            # (a reconnect storm) without the 10 s deadline closing the socket.
            self.conn.auth_deadline = None
        user = await database_sync_to_async(_token_user)(validated)
        if user is None:
            await self._close(protocol.CLOSE_UNAUTHENTICATED)
        if self.conn is not None and not self.conn.closed:
            self._authenticated(user, ref)

    # Topics ----------------------------------------------------------------------------

    async def _subscribe(self, frame: protocol.SubscribeFrame, ref: Any) -> None:
        conn = self.conn
        assert conn is not None
        topic = frame["topic"]
        since = frame.get("since")
        if not self.subscribes.allow():
            raise ClientError(protocol.ERR_RATE_LIMITED, "Too many subscribes; wait a moment.")
        if topic not in conn.subs and len(conn.subs) >= int(settings.WS_MAX_TOPICS):
            raise ClientError(
                protocol.ERR_TOO_MANY_TOPICS,
                f"At most {settings.WS_MAX_TOPICS} topics on one socket.",
            )
        try:
            if topic == protocol.METRICS_TOPIC:
                if not await database_sync_to_async(can_see_cache_metrics)(conn.user):
                    raise ClientError(protocol.ERR_NOT_FOUND, "No such topic.")
                await conn.hub.subscribe_metrics(conn, ref)
                return
            cohort_id = _cohort_id(topic)
            viewer = self.viewers.get(cohort_id)
            if viewer is None:
                viewer = await database_sync_to_async(viewer_for)(
                    user=conn.user, cohort_id=cohort_id
                )
            if viewer is None:
                raise ClientError(protocol.ERR_NOT_FOUND, "No such topic.")
            # Known for the socket's life: a re-subscribe (recovery) costs no query.
            self.viewers[cohort_id] = viewer
            role = viewer_role(user=conn.user, viewer=viewer)
            await conn.hub.subscribe_cohort(
                conn, cohort_id, role, since, ref, viewer, self.replay_budget
            )
        except LayerLost:
            await self._close(protocol.CLOSE_SERVICE_RESTART)
        except DatabaseError:
            logger.warning("subscribe to %s failed: the database could not be read", topic)
            raise ClientError(protocol.ERR_UNAVAILABLE, protocol.UNAVAILABLE_MESSAGE) from None

    def _unsubscribe(self, frame: protocol.UnsubscribeFrame, ref: Any) -> None:
        conn = self.conn
        assert conn is not None
        topic = frame["topic"]
        if not conn.hub.unsubscribe(conn, topic):
            raise ClientError(protocol.ERR_NOT_FOUND, "Not subscribed to that topic.")
        answer: protocol.UnsubscribedFrame = {"type": "unsubscribed", "topic": topic}
        if ref is not None:
            answer["ref"] = ref
        conn.push_frame(answer)


def _cohort_id(topic: str) -> int:
    """Return the cohort id of ``cohort:{id}``, or raise ``not_found``."""
    cohort_id = protocol.cohort_id_of(topic)
    if cohort_id is None:
        raise ClientError(protocol.ERR_NOT_FOUND, "No such topic.")
    return cohort_id
