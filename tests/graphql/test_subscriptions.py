"""Subscriptions over graphql-transport-ws: replay then live without gap or duplicate,
RESYNC_REQUIRED, visibility, auth (4403), metrics, and the hub's slow-subscriber cut."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from realtime import graphql_ws
from tests.graphql.conftest import complete
from tests.realtime.conftest import (  # noqa: F401 - the realtime tests' fixtures
    _stop_hub_after,
    acomment,
    application,
    fast_realtime,
    token_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = """subscription($c: ID!, $after: Int) {
  cohortEvents(cohort: $c, afterSeq: $after) { seq kind data actor { name } } }"""


class GqlSocket:
    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.c = communicator

    async def send(self, message: Any) -> None:
        await self.c.send_to(text_data=json.dumps(message))

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        output = await self.c.receive_output(timeout)
        assert output["type"] == "websocket.send", output
        return json.loads(output["text"])

    async def closed_with(self, timeout: float = 3) -> int:
        while True:
            output = await self.c.receive_output(timeout)
            if output["type"] == "websocket.close":
                return output.get("code", 1000)

    async def subscribe(self, op_id: str, query: str, variables: dict | None = None) -> None:
        await self.send(
            {
                "id": op_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )

    async def seqs(self, count: int) -> list[int]:
        out = []
        while len(out) < count:
            message = await self.recv()
            assert message["type"] == "next", message
            out.append(message["payload"]["data"]["cohortEvents"]["seq"])
        return out

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self.c.receive_nothing(timeout)


@contextlib.asynccontextmanager
async def gql_socket(user=None, *, init: Any = "token", headers=None, protocols=None):
    communicator = WebsocketCommunicator(
        application(),
        "/graphql/",
        headers=headers or [],
        subprotocols=["graphql-transport-ws"] if protocols is None else protocols,
    )
    connected, subprotocol = await communicator.connect(timeout=3)
    assert connected
    if protocols is None:
        assert subprotocol == "graphql-transport-ws"
    sock = GqlSocket(communicator)
    try:
        if init == "token" and user is not None:
            await sock.send(
                {
                    "type": "connection_init",
                    "payload": {"authorization": f"Bearer {token_for(user)}"},
                }
            )
            assert (await sock.recv()) == {"type": "connection_ack"}
        yield sock
    finally:
        with contextlib.suppress(BaseException):
            await communicator.disconnect(timeout=2)


async def test_replay_then_live_without_gap_or_duplicate(world):
    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("1", EVENTS, {"c": world.cohort.pk, "after": 1})
        assert await sock.seqs(2) == [2, 3]
        seq = await acomment(world, "live one")
        message = await sock.recv()
        event = message["payload"]["data"]["cohortEvents"]
        assert message["id"] == "1" and event["seq"] == seq == 4
        assert event["kind"] == "comment.added" and event["data"]["text"] == "live one"
        assert await sock.nothing()


async def test_without_after_seq_only_live_events(world):
    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("a", EVENTS, {"c": world.cohort.pk})
        assert await sock.nothing()
        await acomment(world)
        assert await sock.seqs(1) == [4]


async def test_after_seq_ahead_of_head_is_resync_required(world):
    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("r", EVENTS, {"c": world.cohort.pk, "after": 50})
        message = await sock.recv()
        assert message["type"] == "error" and message["id"] == "r"
        assert [e["extensions"]["code"] for e in message["payload"]] == ["RESYNC_REQUIRED"]
        await acomment(world)
        assert await sock.nothing()


async def test_over_the_replay_limit_is_resync_required(world, settings):
    settings.WS_REPLAY_MAX = 2
    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("r", EVENTS, {"c": world.cohort.pk, "after": 0})
        message = await sock.recv()
        assert message["payload"][0]["extensions"]["code"] == "RESYNC_REQUIRED"


async def test_foreign_cohort_is_not_found(world, other_world):
    async with gql_socket(other_world.mentor) as sock:
        await sock.subscribe("f", EVENTS, {"c": world.cohort.pk, "after": 0})
        message = await sock.recv()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_bad_token_closes_4403_without_ack(world):
    async with gql_socket(init=None) as sock:
        await sock.send({"type": "connection_init", "payload": {"authorization": "Bearer x"}})
        assert await sock.closed_with() == 4403


async def test_no_credentials_closes_4403(world):
    async with gql_socket(init=None) as sock:
        await sock.send({"type": "connection_init"})
        assert await sock.closed_with() == 4403


async def test_session_cookie_with_origin_authenticates(world):
    client = Client()
    await database_sync_to_async(client.force_login)(world.mentor)
    cookie = client.cookies["sessionid"].value
    headers = [(b"origin", b"http://localhost"), (b"cookie", f"sessionid={cookie}".encode())]
    async with gql_socket(init=None, headers=headers) as sock:
        await sock.send({"type": "connection_init", "payload": {}})
        assert (await sock.recv()) == {"type": "connection_ack"}


async def test_session_cookie_without_origin_is_refused(world):
    client = Client()
    await database_sync_to_async(client.force_login)(world.mentor)
    cookie = client.cookies["sessionid"].value
    async with gql_socket(init=None, headers=[(b"cookie", f"sessionid={cookie}".encode())]) as s:
        await s.send({"type": "connection_init", "payload": {}})
        assert await s.closed_with() == 4403


async def test_foreign_origin_is_refused_at_the_handshake(world):
    communicator = WebsocketCommunicator(
        application(),
        "/graphql/",
        headers=[(b"origin", b"http://evil.example")],
        subprotocols=["graphql-transport-ws"],
    )
    connected, _ = await communicator.connect(timeout=3)
    assert not connected


async def test_without_the_subprotocol_closes_4406(world):
    async with gql_socket(init=None, protocols=[]) as sock:
        assert await sock.closed_with() == 4406


async def test_subscribe_before_ack_closes_4401(world):
    async with gql_socket(init=None) as sock:
        await sock.subscribe("1", EVENTS, {"c": world.cohort.pk})
        assert await sock.closed_with() == 4401


async def test_ping_pong_and_duplicate_id(world):
    async with gql_socket(world.mentor) as sock:
        await sock.send({"type": "ping"})
        assert (await sock.recv())["type"] == "pong"
        await sock.subscribe("1", EVENTS, {"c": world.cohort.pk})
        await sock.subscribe("1", EVENTS, {"c": world.cohort.pk})
        assert await sock.closed_with() == 4409


async def test_complete_stops_the_operation(world):
    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("1", EVENTS, {"c": world.cohort.pk})
        await asyncio.sleep(0.1)
        await sock.send({"id": "1", "type": "complete"})
        await asyncio.sleep(0.1)
        await acomment(world)
        assert await sock.nothing()


async def test_invalid_document_is_an_error_message(world):
    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("1", "subscription { nope }")
        message = await sock.recv()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def count_executions(monkeypatch) -> list[int]:
    """Patch the subscriptions' executor to note the seq of each event it executes for."""
    calls: list[int] = []
    original = graphql_ws._Operation._execute

    def counting(self, root):
        calls.append(root.seq)
        return original(self, root)

    monkeypatch.setattr(graphql_ws._Operation, "_execute", counting)
    return calls


async def test_learner_subscriber_gets_peer_scores_redacted(world):
    peer = world.learners[1]

    async with gql_socket(world.learner.user) as learner, gql_socket(world.mentor) as mentor:
        await learner.subscribe("l", EVENTS, {"c": world.cohort.pk})
        await mentor.subscribe("m", EVENTS, {"c": world.cohort.pk})
        await asyncio.sleep(0.1)
        await database_sync_to_async(complete)(world, peer, 88)
        seen_by_learner = [await learner.recv() for _ in range(3)][-1]
        seen_by_mentor = [await mentor.recv() for _ in range(3)][-1]
        assert seen_by_learner["payload"]["data"]["cohortEvents"]["data"]["score"] is None
        assert seen_by_mentor["payload"]["data"]["cohortEvents"]["data"]["score"] == 88


async def test_one_execution_per_form_of_the_event_whoever_comes_first(world, monkeypatch):
    """A peer learner (redacted), the learner it is about and a mentor (both whole), met in
    that order: two executions, and each gets the form it may see."""
    from dashboard.services.progress import progress_update

    subject = world.learners[1]
    await database_sync_to_async(complete)(world, subject, 91)  # before the count
    calls = count_executions(monkeypatch)
    async with contextlib.AsyncExitStack() as stack:
        peer = await stack.enter_async_context(gql_socket(world.learner.user))
        own = await stack.enter_async_context(gql_socket(subject.user))
        mentor = await stack.enter_async_context(gql_socket(world.mentor))
        for sock in (peer, own, mentor):
            await sock.subscribe("s", EVENTS, {"c": world.cohort.pk})
        await asyncio.sleep(0.1)
        await database_sync_to_async(progress_update)(
            actor=world.mentor,
            cohort_id=world.cohort.pk,
            learner_id=subject.pk,
            milestone_slug="python",
            status="completed",
            score=77,
            version=4,
        )
        scores = []
        for sock in (peer, own, mentor):
            message = await sock.recv()
            scores.append(message["payload"]["data"]["cohortEvents"]["data"]["score"])
    assert scores == [None, 77, 77]
    assert len(calls) == 2


async def test_one_execution_per_event_for_many_subscribers(world, monkeypatch):
    calls = count_executions(monkeypatch)
    async with contextlib.AsyncExitStack() as stack:
        socks = [await stack.enter_async_context(gql_socket(world.mentor)) for _ in range(5)]
        for i, sock in enumerate(socks):
            await sock.subscribe(str(i), EVENTS, {"c": world.cohort.pk})
        await asyncio.sleep(0.1)
        seq = await acomment(world)
        for sock in socks:
            assert await sock.seqs(1) == [seq]
    assert calls == [seq]


async def test_slow_subscriber_is_cut_with_4408(world, settings):
    """A socket that stops reading fills its writer's bounded queue and is closed; the
    others keep getting their events."""
    settings.WS_SEND_QUEUE = 2
    gate = asyncio.Event()

    def stuck(app):
        async def wrapped(scope, receive, send):
            async def slow_send(message):
                if message["type"] == "websocket.send" and '"type":"next"' in message["text"]:
                    await gate.wait()  # the peer never reads
                await send(message)

            return await app(scope, receive, slow_send)

        return wrapped

    communicator = WebsocketCommunicator(
        stuck(application()), "/graphql/", subprotocols=["graphql-transport-ws"]
    )
    assert (await communicator.connect(timeout=3))[0]
    slow = GqlSocket(communicator)
    try:
        init = {"authorization": f"Bearer {token_for(world.mentor)}"}
        await slow.send({"type": "connection_init", "payload": init})
        assert (await slow.recv()) == {"type": "connection_ack"}
        async with gql_socket(world.mentor) as fast:
            await slow.subscribe("1", EVENTS, {"c": world.cohort.pk})
            await fast.subscribe("1", EVENTS, {"c": world.cohort.pk})
            await asyncio.sleep(0.1)
            seqs = [await acomment(world, f"c{i}") for i in range(5)]
            assert await fast.seqs(5) == seqs
            assert await slow.closed_with() == 4408
    finally:
        gate.set()
        with contextlib.suppress(BaseException):
            await communicator.disconnect(timeout=2)


async def test_cache_metrics_sends_a_sample_at_once_to_mentors(world):
    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("m", "subscription { cacheMetrics { at backend hits } }")
        message = await sock.recv()
        assert message["type"] == "next"
        assert message["payload"]["data"]["cacheMetrics"]["backend"]


async def test_cache_metrics_forbidden_to_learners(world):
    async with gql_socket(world.learner.user) as sock:
        await sock.subscribe("m", "subscription { cacheMetrics { at } }")
        message = await sock.recv()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_query_over_the_socket_answers_once_and_completes(world):
    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("q", "{ me { id } }")
        message = await sock.recv()
        assert message["payload"]["data"]["me"]["id"] == str(world.mentor.pk)
        assert (await sock.recv()) == {"id": "q", "type": "complete"}


async def test_cache_metrics_then_each_published_sample(world):
    from realtime.hub import get_hub

    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("m", "subscription { cacheMetrics { at hits } }")
        assert (await sock.recv())["type"] == "next"
        sample = {"at": "2026-12-03T10:00:01.000Z", "backend": "locmem", "hits": 7, "misses": 0}
        get_hub()._on_metrics(json.dumps(sample))
        message = await sock.recv()
        assert message["payload"]["data"]["cacheMetrics"] == {
            "at": "2026-12-03T10:00:01.000Z",
            "hits": 7,
        }


async def test_cache_metrics_never_sends_one_sample_twice(world):
    from realtime.hub import get_hub

    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("m", "subscription { cacheMetrics { at } }")
        first = await sock.recv()
        get_hub()._on_metrics(
            json.dumps(
                {
                    "at": first["payload"]["data"]["cacheMetrics"]["at"],
                    "backend": "locmem",
                    "hits": 0,
                    "misses": 0,
                }
            )
        )
        assert await sock.nothing()


async def test_graphql_and_live_subscribers_share_the_hubs_one_topic(world):
    from realtime.hub import get_hub
    from tests.realtime.conftest import open_socket

    live = await open_socket(world.mentor)
    try:
        await live.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"})
        await live.recv_type("subscribed")
        async with gql_socket(world.mentor) as one, gql_socket(world.learner.user) as two:
            await one.subscribe("1", EVENTS, {"c": world.cohort.pk})
            await two.subscribe("2", EVENTS, {"c": world.cohort.pk})
            await asyncio.sleep(0.1)
            hub = get_hub()
            topics = [t for t in hub.topics.values() if t.cohort_id == world.cohort.pk]
            assert len(topics) == 1  # one channel-layer group membership for all of them
            assert len(topics[0].subs) == 3
            seq = await acomment(world)
            assert await one.seqs(1) == [seq] and await two.seqs(1) == [seq]
            assert (await live.recv_type("event"))["event"]["seq"] == seq
    finally:
        await live.close()


async def test_init_payload_key_may_be_capitalised(world):
    async with gql_socket(init=None) as sock:
        token = token_for(world.mentor)
        await sock.send(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert (await sock.recv()) == {"type": "connection_ack"}


async def test_a_replay_the_database_cannot_read_ends_the_operation_unavailable(world, monkeypatch):
    from django.db import OperationalError

    from realtime import reads

    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(reads, "read_replay", down)
    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("1", EVENTS, {"c": world.cohort.pk, "after": 1})
        message = await sock.recv()
        assert message["type"] == "error" and message["id"] == "1"
        assert message["payload"][0]["extensions"]["code"] == "UNAVAILABLE"
        await acomment(world, "after the failure")
        assert await sock.nothing()
        monkeypatch.undo()
        await sock.subscribe("1", EVENTS, {"c": world.cohort.pk, "after": 1})
        assert await sock.seqs(3) == [2, 3, 4]


async def test_a_lost_channel_layer_closes_the_socket_with_1012_once(world):
    """The hub closes its connections with 1012: a GraphQL socket with two operations
    gets one close frame, counted once."""
    from dashboard import prometheus
    from realtime.hub import get_hub

    def closed_1012() -> float:
        return (
            prometheus.REGISTRY.get_sample_value("dashboard_ws_closed_total", {"code": "1012"})
            or 0.0
        )

    async with gql_socket(world.mentor) as sock:
        await sock.subscribe("a", EVENTS, {"c": world.cohort.pk})
        await sock.subscribe("b", "subscription { cacheMetrics { at } }")
        assert (await sock.recv())["id"] == "b"  # the latest sample at once
        before = closed_1012()
        get_hub().layer_lost()
        assert await sock.closed_with() == 1012
        assert closed_1012() - before == 1
