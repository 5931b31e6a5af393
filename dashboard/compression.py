"""Gzip for JSON answers only.

The dashboard's initial load is JSON (a snapshot of ~70 KB, the cache metrics) that
compresses 6-10x. HTML pages are left alone on purpose: they carry CSRF tokens, and a
compressed page that reflects input next to a secret leaks it to BREACH-style length
probing. JSON answers hold no secret of that kind (the CSRF token travels in a cookie).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string

# Below this, gzip's header and the CPU are not worth the bytes saved.
MIN_SIZE = 500
_GZIP = re.compile(r"\bgzip\b")


def _is_json(response: HttpResponse) -> bool:
    media = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class JsonGzipMiddleware:
    """Compress JSON responses with gzip when the client accepts it (`Vary: Accept-Encoding`)."""

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
        return compress_json(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
        return compress_json(request, await get_response(request))


def compress_json(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Return ``response`` gzipped if it is JSON, big enough, and the client accepts gzip."""
    if not _is_json(response) or response.streaming:
        return response
    patch_vary_headers(response, ("Accept-Encoding",))
    if response.has_header("Content-Encoding") or len(response.content) < MIN_SIZE:
        return response
    if not _GZIP.search(request.headers.get("Accept-Encoding", "")):
        return response
    compressed = compress_string(response.content)
    if len(compressed) >= len(response.content):
        return response
    response.content = compressed
    response["Content-Length"] = str(len(compressed))
    # A strong ETag names the uncompressed bytes; the compressed ones are a variant.
    if response.has_header("ETag"):
        response["ETag"] = re.sub(r'^"', 'W/"', response["ETag"])
    response["Content-Encoding"] = "gzip"
    return response
