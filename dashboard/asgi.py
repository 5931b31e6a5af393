"""ASGI entry point: HTTP through Django, WebSockets through Channels, lifespan for the
runtime tuning and the in-process helpers (dashboard/lifespan.py)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings.base")

from dashboard.http import get_http_application

# Django's ASGI handler with the middleware chain and the view in one thread hop.
django_asgi_app = get_http_application()

# Imported after Django is set up: these modules touch models and settings.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from dashboard.lifespan import LifespanApp  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from realtime.security import BrowserOriginValidator  # noqa: E402
from realtime.uvicorn_ws import install as install_uvicorn_patches  # noqa: E402

# What the server reads and replaces in uvicorn's private protocol (direct writes, the
# half-close after a parser failure, one log line for bad UTF-8), checked against the
# uvicorn release it was written for (realtime/uvicorn_ws.py).
install_uvicorn_patches()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin checked like AllowedHostsOriginValidator, but a handshake without Origin
        # (a program, not a browser) is let in to authenticate by token (docs/realtime.md).
        "websocket": BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": LifespanApp(),
    }
)
