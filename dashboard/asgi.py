"""ASGI entry point: HTTP through Django, WebSockets through Channels, lifespan for the
in-process helpers of the embedded default (the demo simulator)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings.base")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: these modules touch models and settings.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from dashboard.lifespan import LifespanApp  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from realtime.security import BrowserOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin checked like AllowedHostsOriginValidator, but a handshake without Origin
        # (a program, not a browser) is let in to authenticate by token (docs/realtime.md).
        "websocket": BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": LifespanApp(),
    }
)
