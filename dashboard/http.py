"""The ASGI HTTP handler: Django's, with the request's sync work in one hop to a kept thread.

Every view here is synchronous (DRF), and Django's own middleware is ``MiddlewareMixin``.
The stock ``ASGIHandler`` costs a request, measured under a WebSocket fan-out:

- about 17 crossings between the event loop and a worker thread: each middleware runs
  its ``process_request`` and ``process_response`` through ``sync_to_async`` separately,
  then the ``process_view`` hooks and the view. Each crossing copies the context, makes
  two futures and waits for the GIL behind whatever the loop is doing;
- a new thread per request (``ThreadSensitiveContext()``), which the event loop waits for
  in ``Thread.start()`` (twice: start and shutdown), and so a new database connection
  per request (connections are per thread): 1-2 ms of SQLite set-up each time.

``SyncChainASGIHandler`` builds the middleware chain in sync mode, as WSGI does, and runs
it with the view in one ``sync_to_async`` call, and it lends each request one of a few
kept threads (``ThreadSensitiveContext(executor=...)``), each keeping its database
connection (``CONN_MAX_AGE``). A request still crosses three times (``request_started``,
the chain, ``response.close()``), all on its lent thread. Streaming the response and
watching for a disconnect stay Django's own (``ASGIHandler.handle``).

It is also the one place that bounds request bodies (``DATA_UPLOAD_MAX_MEMORY_SIZE``):
Django's handler reads a whole body into a temporary file before any view can look at
its size. Here a declared ``Content-Length`` over the limit is refused before a byte of
the body is read, a chunked body is counted as it arrives, both with a 413 in the API's
error shape; a chunked body under the limit is given its length, which DRF needs to read
it at all.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.http import HttpRequest, HttpResponseBase


class RequestThreads:
    """Single-thread executors kept between requests, one lent to each request.

    Up to ``keep`` are kept; a request arriving when all are lent gets a new one, which
    is kept afterwards if there is room and shut down otherwise, so a burst is served at
    once and the pool never grows past ``keep`` idle threads.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()

    def lend(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="http")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        with self._lock:
            if len(self._idle) < self.keep:
                self._idle.append(executor)
                return
        executor.shutdown(wait=False)

    def close(self) -> None:
        """Close the idle threads' database connections and stop the threads.

        Each kept thread keeps its connections (``CONN_MAX_AGE``); PostgreSQL will not
        drop a database that a connection still uses.
        """
        with self._lock:
            idle, self._idle = self._idle, []
        for executor in idle:
            executor.submit(connections.close_all).result(10)
            executor.shutdown()


# --------------------------------------------------------------------------------------
# Request bodies
# --------------------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """The request's body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""


def declared_length(scope: dict[str, Any]) -> int | None:
    """Return the request's ``Content-Length``, or None without a valid one."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def send_too_large(send: Any) -> None:
    """Answer 413 with the API's error shape and close the connection: the unread rest
    of the body must not be parsed as the next request."""
    body = json.dumps(
        {"error": {"code": "too_large", "message": "The request body is too large.", "fields": {}}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------------------
# The handler
# --------------------------------------------------------------------------------------


class SyncChainASGIHandler(ASGIHandler):
    """Serve HTTP over ASGI with a synchronous middleware chain, one hop, kept threads."""

    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = RequestThreads(int(settings.HTTP_THREADS))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        declared = declared_length(scope)
        if declared is not None and declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            await send_too_large(send)
            return
        executor = self.threads.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        except BodyTooLarge:
            await send_too_large(send)
        finally:
            self.threads.give_back(executor)

    async def read_body(self, receive: Any) -> Any:
        """Read the body as Django does, refusing it once it passes the limit."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (returned open)
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                body_file.close()
                raise BodyTooLarge()
            body_file.write(chunk)
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file

    def create_request(self, scope: Mapping[str, Any], body_file: Any) -> Any:
        # A chunked body has no Content-Length, and DRF reads none without one.
        if not any(name == b"content-length" for name, _ in scope.get("headers", [])):
            size = body_file.seek(0, 2)
            body_file.seek(0)
            if size:
                length = (b"content-length", str(size).encode())
                scope = {**scope, "headers": [*scope.get("headers", []), length]}
        return super().create_request(scope, body_file)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # Thread-sensitive: on the request's lent thread, with the signals' receivers and
        # response.close(), so the request uses one database connection, as under WSGI.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_http_application() -> SyncChainASGIHandler:
    """Set Django up and return the HTTP handler (``get_asgi_application``'s twin)."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
