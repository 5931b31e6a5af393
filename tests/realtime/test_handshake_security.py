"""The WebSocket handshake's Origin check (full origin), and token checks on the auth
frame: odd claims and tokens revoked by a password change close 4401 (docs/security.md)."""

from __future__ import annotations

import jwt
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import make_cohort
from tests.realtime.conftest import application, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _mentor_cookie() -> tuple[object, str]:
    world = make_cohort(learners=1)
    client = Client()
    client.force_login(world.mentor)
    return world.mentor, client.cookies["sessionid"].value


async def _connects(origin: bytes, host: bytes, cookie: str, scheme: str = "ws") -> bool:
    communicator = WebsocketCommunicator(
        application(),
        "/ws/live/",
        headers=[(b"origin", origin), (b"host", host), (b"cookie", f"sessionid={cookie}".encode())],
    )
    communicator.scope["scheme"] = scheme
    connected, _ = await communicator.connect(timeout=3)
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize(
    "origin",
    [
        b"http://127.0.0.1:9999",  # the same host, another port
        b"https://127.0.0.1:8000",  # the same host and port, another scheme
        b"http://127.0.0.1",  # port 80
        b"http://localhost:8000",  # another allowed host, not the one addressed
        b"null",
    ],
)
async def test_an_origin_differing_in_scheme_host_or_port_is_refused(origin):
    _, cookie = await _mentor_cookie()
    assert not await _connects(origin, b"127.0.0.1:8000", cookie)


async def test_the_same_origin_is_accepted():
    _, cookie = await _mentor_cookie()
    assert await _connects(b"http://127.0.0.1:8000", b"127.0.0.1:8000", cookie)
    assert await _connects(b"https://localhost", b"localhost", cookie, scheme="wss")


async def test_a_host_outside_allowed_hosts_is_refused_even_same_origin():
    _, cookie = await _mentor_cookie()
    assert not await _connects(b"http://evil.example:8000", b"evil.example:8000", cookie)


async def test_csrf_trusted_origins_are_accepted(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.example.org"]
    _, cookie = await _mentor_cookie()
    assert await _connects(b"https://app.example.com", b"127.0.0.1:8000", cookie)
    assert await _connects(b"https://a.example.org", b"127.0.0.1:8000", cookie)
    assert not await _connects(b"http://app.example.com", b"127.0.0.1:8000", cookie)
    assert not await _connects(b"https://app.example.com:8443", b"127.0.0.1:8000", cookie)


def _signed(claims: dict) -> str:
    return jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


@pytest.mark.parametrize(
    "change", [{"user_id": [1]}, {"user_id": {}}, {"exp": 10**30}, {"user_id": "9" * 30}]
)
async def test_odd_claims_on_the_auth_frame_close_4401(change):
    mentor, _ = await _mentor_cookie()
    good = dict((await database_sync_to_async(AccessToken.for_user)(mentor)).payload)
    sock = await open_socket(auth=False)
    await sock.send({"type": "auth", "token": _signed({**good, **change})})
    output = await sock.c.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4401}, output


async def test_an_access_token_from_before_a_password_change_closes_4401():
    mentor, _ = await _mentor_cookie()
    token = str(await database_sync_to_async(AccessToken.for_user)(mentor))

    def change_password() -> None:
        mentor.set_password("a-new-password-42")
        mentor.save()

    await database_sync_to_async(change_password)()
    sock = await open_socket(auth=False)
    await sock.send({"type": "auth", "token": token})
    output = await sock.c.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4401}, output
