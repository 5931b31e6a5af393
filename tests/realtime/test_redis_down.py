"""Redis down is not data loss: writes commit, publish fails softly, recovery fills in."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from realtime import broadcasting
from tests.factories import make_cohort
from tests.realtime.conftest import comment
from tests.support import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dead_redis(settings):
    """Point the channel layer at a port where nothing listens."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url]},
        }
    }
    channel_layers.backends.clear()
    yield url
    channel_layers.backends.clear()


def test_publish_without_a_server_loop_never_raises_and_is_bounded(dead_redis):
    started = time.monotonic()
    broadcasting.publish_event(1, {"seq": 1, "kind": "cohort.updated", "data": {}})  # type: ignore[typeddict-item]
    broadcasting.publish_metrics({"at": "now"})
    assert time.monotonic() - started < 3


def test_write_commits_while_redis_is_down(dead_redis, world):
    seq = comment(world, "while down")
    world.cohort.refresh_from_db()
    assert world.cohort.head_seq == seq == 4


async def test_publish_on_the_server_loop_returns_at_once_while_redis_is_down(dead_redis):
    started = time.monotonic()
    broadcasting.publish_event(1, {"seq": 1, "kind": "cohort.updated", "data": {}})  # type: ignore[typeddict-item]
    assert time.monotonic() - started < 0.05


async def test_losing_redis_closes_sockets_1012_and_recovery_fills_the_gap(redis_layer, sockets):
    from tests.realtime.conftest import open_socket

    world = await database_sync_to_async(make_cohort)(learners=1)
    topic = f"cohort:{world.cohort.pk}"
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": topic})
    subscribed = await sock.recv_type("subscribed")
    last = subscribed["seq"]

    redis_layer.stop()
    written = await database_sync_to_async(comment)(world, "while redis is down")
    assert written == last + 1  # the write committed
    assert await sock.closed_with(timeout=5) == 1012
    await sock.close()

    redis_layer.start()  # same port
    again = await open_socket(world.mentor)
    try:
        deadline = time.monotonic() + 10
        while True:  # the client reconnects with backoff until the layer is back
            await again.send({"type": "subscribe", "topic": topic, "since": last})
            output = await again.c.receive_output(5)
            if output["type"] == "websocket.close":
                assert output["code"] == 1012
                assert time.monotonic() < deadline
                await again.close()
                again = await open_socket(world.mentor)
                continue
            import json

            frame = json.loads(output["text"])
            if frame["type"] == "subscribed":
                break
        assert frame["recovered"] is True
        replay = await again.recv_type("events")
        assert [e["seq"] for e in replay["events"]] == [written]
    finally:
        await again.close()
