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
        is_api = request.path.startswith(API_PREFIX)
        if not is_api:
            host = request.get_host()
            request._csp_update = {"connect-src": [f"ws://{host}", f"wss://{host}"]}  # type: ignore[attr-defined]
        response = self.get_response(request)
        if is_api:
            if not response.has_header("Cache-Control"):
                response["Cache-Control"] = "private, no-store"
            patch_vary_headers(response, ("Authorization", "Cookie"))
        return response
