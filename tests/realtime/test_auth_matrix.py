"""The WebSocket half of the auth matrix: one test per (caller, topic) cell, plus the
credentials that never get a socket. The REST half is tests/dashboard/test_auth_matrix.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import make_cohort, make_user
from tests.realtime.conftest import open_socket

pytestmark = pytest.mark.django_db(transaction=True)

CALLERS = ["learner", "other_learner", "mentor", "other_mentor", "staff"]
EXPECTED = {
    "cohort": dict(
        learner="subscribed",
        other_learner="not_found",
        mentor="subscribed",
        other_mentor="not_found",
        staff="subscribed",
    ),
    "metrics": dict(
        learner="not_found",
        other_learner="not_found",
        mentor="subscribed",
        other_mentor="subscribed",
        staff="subscribed",
    ),
}


@database_sync_to_async
def _world() -> dict:
    here, there = make_cohort(learners=1), make_cohort(learners=1)
    return {
        "cohort": here.cohort.pk,
        "learner": here.learner.user,
        "other_learner": there.learner.user,
        "mentor": here.mentor,
        "other_mentor": there.mentor,
        "staff": make_user(staff=True),
    }


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("topic", list(EXPECTED))
async def test_ws_auth_matrix(caller, topic):
    world = await _world()
    sock = await open_socket(world[caller])
    try:
        name = f"cohort:{world['cohort']}" if topic == "cohort" else "metrics:cache"
        await sock.send({"type": "subscribe", "topic": name, "ref": 9})
        frame = await sock.recv()
        expected = EXPECTED[topic][caller]
        if expected == "subscribed":
            assert frame["type"] == "subscribed" and frame["topic"] == name, frame
        else:
            assert frame == {
                "type": "error",
                "code": "not_found",
                "ref": 9,
                "message": frame.get("message"),
            }, frame
    finally:
        await sock.close()


@pytest.mark.parametrize("kind", ["expired", "forged", "garbage", "refresh_token"])
async def test_bad_credentials_never_get_a_socket(kind):
    world = await _world()
    token = AccessToken.for_user(world["mentor"])
    if kind == "expired":
        token.set_exp(lifetime=-timedelta(seconds=1))
        raw = str(token)
    elif kind == "forged":
        header, payload, _ = str(token).split(".")
        raw = f"{header}.{payload}.{'A' * 43}"
    elif kind == "garbage":
        raw = "not-a-token"
    else:
        from rest_framework_simplejwt.tokens import RefreshToken

        raw = str(await database_sync_to_async(RefreshToken.for_user)(world["mentor"]))
    sock = await open_socket(auth=False)
    await sock.send({"type": "auth", "token": raw})
    output = await sock.c.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4401}, output


async def test_cross_origin_handshake_with_a_valid_session_cookie_is_refused():
    """Cross-site WebSocket hijacking: the victim's cookie rides along, the Origin gives
    the other site away."""
    from channels.testing import WebsocketCommunicator
    from django.test import Client

    from tests.realtime.conftest import application

    world = await _world()
    client = Client()
    await database_sync_to_async(client.force_login)(world["mentor"])
    cookie = client.cookies["sessionid"].value
    for origin in (b"http://evil.example", b"http://127.0.0.1.evil.example", b"null"):
        communicator = WebsocketCommunicator(
            application(),
            "/ws/live/",
            headers=[(b"origin", origin), (b"cookie", f"sessionid={cookie}".encode())],
        )
        connected, _ = await communicator.connect(timeout=3)
        assert not connected, origin
    same_site = WebsocketCommunicator(
        application(),
        "/ws/live/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"cookie", f"sessionid={cookie}".encode()),
            (b"host", b"127.0.0.1:8000"),
        ],
    )
    connected, _ = await same_site.connect(timeout=3)
    assert connected
    assert (await same_site.receive_json_from(timeout=3))["type"] == "welcome"
    await same_site.disconnect()
