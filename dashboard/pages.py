"""The HTML pages: the dashboard shell (static ES modules) and the 404 page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.csrf import ensure_csrf_cookie

from dashboard.apis.errors import json_not_found

INDEX_HTML = settings.BASE_DIR / "frontend" / "index.html"


@login_required
@ensure_csrf_cookie
def index(request: HttpRequest) -> HttpResponse:
    """Serve the dashboard shell; the page loads everything else over REST and WebSocket."""
    return HttpResponse(INDEX_HTML.read_bytes(), content_type="text/html; charset=utf-8")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return HttpResponseNotFound(b"<h1>Not found</h1>", content_type="text/html; charset=utf-8")
