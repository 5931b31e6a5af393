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
the chain, ``response.close()``), all on its lent thread. Reading the body, streaming the
response and watching for a disconnect stay Django's own (``ASGIHandler.handle``).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
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


class SyncChainASGIHandler(ASGIHandler):
    """Serve HTTP over ASGI with a synchronous middleware chain, one hop, kept threads."""

    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = RequestThreads(int(settings.HTTP_THREADS))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self.threads.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(executor)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # Thread-sensitive: on the request's lent thread, with the signals' receivers and
        # response.close(), so the request uses one database connection, as under WSGI.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_http_application() -> SyncChainASGIHandler:
    """Set Django up and return the HTTP handler (``get_asgi_application``'s twin)."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
