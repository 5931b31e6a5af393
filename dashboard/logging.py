"""Logs as JSON lines, each carrying the id of the request it belongs to.

- ``RequestIdMiddleware`` takes the proxy's ``X-Request-ID`` (nginx sets it) or makes one,
  keeps it in a context variable for the request's duration, returns it as a response
  header and logs one access line per request.
- ``RequestIdFilter`` copies the current id onto every record (``-`` outside a request).
- ``JsonLinesFormatter`` writes one JSON object per line: ``ts``, ``level``, ``logger``,
  ``message``, ``request_id``, the ``extra`` fields and ``exc`` for exceptions.

Importing this module does not need Django to be set up, so uvicorn's own log
configuration (``deploy/uvicorn-logging.json``) can use the formatter.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# A client-supplied id is kept only when it looks like one (no log injection, bounded).
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
access_logger = logging.getLogger("dashboard.access")

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}  # uvicorn's ANSI-coloured copy of the message
)


def current_request_id() -> str:
    """Return the id of the request being handled, ``-`` outside a request."""
    return request_id_var.get()


def _incoming_or_new(request: HttpRequest) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex


# --------------------------------------------------------------------------------------
# Middleware
# --------------------------------------------------------------------------------------


class RequestIdMiddleware:
    """Give each request an id: in the logs, on ``request.request_id`` and in the response."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        request_id, token, started = self._begin(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        return self._end(request, response, request_id, started)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        request_id, token, started = self._begin(request)
        try:
            get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
            response = await get_response(request)
        finally:
            request_id_var.reset(token)
        return self._end(request, response, request_id, started)

    def _begin(self, request: HttpRequest) -> tuple[str, Any, float]:
        request_id = _incoming_or_new(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        return request_id, request_id_var.set(request_id), time.perf_counter()

    def _end(
        self, request: HttpRequest, response: HttpResponse, request_id: str, started: float
    ) -> HttpResponse:
        response[REQUEST_ID_HEADER] = request_id
        token = request_id_var.set(request_id)
        try:
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        finally:
            request_id_var.reset(token)
        return response


# --------------------------------------------------------------------------------------
# Filter and formatter
# --------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Set ``record.request_id`` to the current request's id (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonLinesFormatter(logging.Formatter):
    """Format each record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
