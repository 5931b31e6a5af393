"""The Channels tutorial way, as the baseline of ``bench/fanout.py``.

A consumer per socket that ``group_add``s its own channel to the cohort's group and, in
its group handler, decodes the event and ``send_json``s it: a task, a JSON encoding and
(in channels 4.2+) an ``aclose_old_connections`` thread hop per socket per event. Same
wire protocol as ``/ws/live/`` for what the benchmark uses (auth frame, subscribe, ping),
same publish path (the hub's ``publish`` sends the group message after commit).

Serve: ``uvicorn bench.tutorial_asgi:application`` (the benchmark does it).
"""

from __future__ import annotations

import json
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings.base")
django_asgi_app = get_asgi_application()

from channels.db import database_sync_to_async  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from dashboard.lifespan import LifespanApp  # noqa: E402
from dashboard.selectors.access import cohort_role  # noqa: E402
from dashboard.selectors.cohorts import events_after  # noqa: E402
from realtime.consumers import _user_from_token  # noqa: E402
from realtime.protocol import user_ref  # noqa: E402


class TutorialConsumer(AsyncJsonWebsocketConsumer):
    user = None

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        if kind == "auth":
            self.user = await database_sync_to_async(_user_from_token)(content["token"])
            if self.user is None:
                await self.close(4401)
                return
            await self.send_json({"type": "welcome", "user": user_ref(self.user)})
        elif kind == "subscribe":
            cohort_id = int(content["topic"].split(":")[1])
            role = await database_sync_to_async(cohort_role)(user=self.user, cohort_id=cohort_id)
            if role is None:
                await self.send_json({"type": "error", "code": "not_found", "message": ""})
                return
            await self.channel_layer.group_add(f"cohort.{cohort_id}", self.channel_name)
            _, head = await database_sync_to_async(events_after)(
                cohort_id=cohort_id, after=0, limit=0
            )
            await self.send_json(
                {"type": "subscribed", "topic": content["topic"], "seq": head, "recovered": False}
            )
        elif kind == "ping":
            await self.send_json({"type": "pong"})

    async def rt_event(self, message):
        await self.send_json(
            {
                "type": "event",
                "topic": f"cohort:{message['cohort']}",
                "event": json.loads(message["json"]),
            }
        )

    async def rt_presence(self, message):
        return None

    async def rt_metrics(self, message):
        return None

    async def rt_probe(self, message):
        return None


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([path("ws/live/", TutorialConsumer.as_asgi())]),
        "lifespan": LifespanApp(),
    }
)
