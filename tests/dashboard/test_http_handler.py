"""The ASGI HTTP handler (dashboard/http.py): one thread hop, kept threads, a burst served."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from django.db import connection, connections
from django.http import HttpRequest, JsonResponse
from django.test import override_settings
from django.urls import path

from dashboard.http import RequestThreads, SyncChainASGIHandler

seen: list[dict[str, Any]] = []
gate = threading.Event()


class RecordingMiddleware:
    """A plain sync middleware, like most of Django's: note where it runs."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        request.middleware_thread = threading.get_ident()  # type: ignore[attr-defined]
        return self.get_response(request)


def where(request: HttpRequest) -> JsonResponse:
    seen.append(
        {
            "middleware": request.middleware_thread,  # type: ignore[attr-defined]
            "view": threading.get_ident(),
            "connection": id(connection.connection) if connection.connection else None,
        }
    )
    return JsonResponse({"ok": True})


def wait(request: HttpRequest) -> JsonResponse:
    gate.wait(5)
    return JsonResponse({"ok": True})


urlpatterns = [path("where/", where), path("wait/", wait)]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    f"{__name__}.RecordingMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


async def get(app: Any, url: str) -> int:
    """Run one GET through the ASGI app and return the status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    body_sent = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not body_sent.is_set():
            body_sent.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # no disconnect while the request runs
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.fixture
def handler():
    seen.clear()
    gate.clear()
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=MIDDLEWARE, HTTP_THREADS=2):
        handler = SyncChainASGIHandler()
        yield handler
    handler.threads.close()  # or the test database cannot be dropped at the end of the run


@pytest.mark.django_db(transaction=True)
async def test_middleware_and_view_run_on_one_thread_off_the_loop(handler):
    assert await get(handler, "/where/") == 200
    (call,) = seen
    assert call["middleware"] == call["view"] != threading.get_ident()


@pytest.mark.django_db(transaction=True)
async def test_a_request_crosses_to_its_thread_three_times_whatever_the_middleware(
    handler, monkeypatch
):
    # Django's stock ASGIHandler crosses twice per MiddlewareMixin (8 here), for the
    # process_view hooks and for the view: about 20 crossings for this request.
    crossings = 0
    original = SyncToAsync.__call__

    async def counting(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        nonlocal crossings
        crossings += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    assert await get(handler, "/where/") == 200
    assert crossings == 3  # request_started, the chain with the view, response.close()


@pytest.mark.django_db(transaction=True)
async def test_sequential_requests_reuse_the_kept_thread_and_its_database_connection(handler):
    for _ in range(4):
        assert await get(handler, "/where/") == 200
    assert len({call["view"] for call in seen}) == 1
    assert len({call["connection"] for call in seen}) == 1  # CONN_MAX_AGE keeps it


@pytest.mark.django_db(transaction=True)
async def test_a_burst_beyond_the_kept_threads_is_served_at_once(handler):
    waiting = [asyncio.create_task(get(handler, "/wait/")) for _ in range(3)]
    await asyncio.sleep(0.2)
    # Three requests hold three threads (two kept, one extra): a fourth still runs.
    assert await asyncio.wait_for(get(handler, "/where/"), 5) == 200
    gate.set()
    assert await asyncio.gather(*waiting) == [200, 200, 200]
    assert len(handler.threads._idle) <= 2


def test_request_threads_keep_at_most_keep_idle_executors():
    threads = RequestThreads(keep=1)
    first, second = threads.lend(), threads.lend()
    assert first is not second
    threads.give_back(first)
    threads.give_back(second)  # no room: shut down
    assert threads._idle == [first]
    assert threads.lend() is first
    with pytest.raises(RuntimeError):
        second.submit(print)


@pytest.mark.django_db(transaction=True)
def test_closing_request_threads_closes_their_connections_and_stops_them():
    threads = RequestThreads(keep=1)
    executor = threads.lend()

    def open_connection():
        wrapper = connections["default"]  # this thread's own
        wrapper.ensure_connection()
        return wrapper

    kept = executor.submit(open_connection).result(5)
    threads.give_back(executor)
    assert kept.connection is not None  # CONN_MAX_AGE: the thread keeps it
    threads.close()
    assert kept.connection is None
    assert threads._idle == []
    with pytest.raises(RuntimeError):
        executor.submit(print)
