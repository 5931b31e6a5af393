"""Response headers every answer of a kind needs (docs/security.md)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers

API_PREFIX = "/api/"


class SecurityHeadersMiddleware:
    """Keep API answers out of shared caches; let the page's CSP name its WebSocket.

    - API answers (``/api/``) are per user (or carry tokens): ``Cache-Control: private,
      no-store`` unless a view chose otherwise, and ``Vary: Authorization, Cookie`` so
      no cache serves one caller's answer to another.
    - ``connect-src``: CSP 3 browsers match ``ws:``/``wss:`` of the page's own origin
      with ``'self'``; older ones need the host named, which only the request knows.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            if not response.has_header("Cache-Control"):
                response["Cache-Control"] = "private, no-store"
            patch_vary_headers(response, ("Authorization", "Cookie"))
        else:
            # Read by django-csp (listed before this middleware, so it runs after it on
            # the way out), merged with what a view's csp_update asked for.
            host = request.get_host()
            update = dict(getattr(response, "_csp_update", None) or {})
            update["connect-src"] = [
                *update.get("connect-src", []),
                f"ws://{host}",
                f"wss://{host}",
            ]
            response._csp_update = update  # type: ignore[attr-defined]
        return response
