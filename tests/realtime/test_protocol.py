"""Every row of the protocol's tables (docs/realtime.md), through the real ASGI app."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from tests.factories import make_cohort, make_user
from tests.realtime.conftest import acomment, open_socket, token_for

pytestmark = pytest.mark.django_db(transaction=True)


async def make_world(learners: int = 2):
    return await database_sync_to_async(make_cohort)(learners=learners)


async def amake_user(*args, **kwargs):
    return await database_sync_to_async(make_user)(*args, **kwargs)


# --------------------------------------------------------------------------------------
# Connecting
# --------------------------------------------------------------------------------------


async def test_program_authenticates_with_a_token_frame_and_gets_welcome(sockets):
    world = await make_world()
    sock = await sockets.open(world.mentor, auth=False)
    await sock.send({"type": "auth", "token": token_for(world.mentor), "ref": 7})
    welcome = await sock.recv()
    assert welcome == {
        "type": "welcome",
        "user": {"id": world.mentor.pk, "name": "Mentor Person"},
        "ref": 7,
    }


async def test_session_socket_with_allowed_origin_gets_welcome_at_once(sockets):
    world = await make_world()
    sock = await sockets.open(origin="http://testserver", session_user=world.mentor)
    welcome = await sock.recv()
    assert welcome["type"] == "welcome"
    assert welcome["user"]["id"] == world.mentor.pk


async def test_handshake_from_a_foreign_origin_is_refused():
    from channels.testing import WebsocketCommunicator

    from tests.realtime.conftest import application

    communicator = WebsocketCommunicator(
        application(), "/ws/live/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect(timeout=3)
    assert not connected


async def test_session_cookie_without_origin_is_ignored_and_token_is_required(sockets):
    world = await make_world()
    sock = await sockets.open(session_user=world.mentor)  # no Origin: a program
    assert await sock.nothing()
    await sock.send({"type": "ping"})
    assert await sock.closed_with() == 4401


async def test_first_frame_other_than_auth_closes_4401(sockets):
    sock = await sockets.open()
    await sock.send({"type": "subscribe", "topic": "cohort:1"})
    assert await sock.closed_with() == 4401


async def test_first_frame_not_json_closes_4401(sockets):
    sock = await sockets.open()
    await sock.send("not json")
    assert await sock.closed_with() == 4401


async def test_bad_token_closes_4401(sockets):
    sock = await sockets.open()
    await sock.send({"type": "auth", "token": "not.a.jwt"})
    assert await sock.closed_with() == 4401


async def test_expired_token_closes_4401(sockets):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    world = await make_world()
    token = AccessToken.for_user(world.mentor)
    token.set_exp(lifetime=-timedelta(seconds=1))
    sock = await sockets.open()
    await sock.send({"type": "auth", "token": str(token)})
    assert await sock.closed_with() == 4401


async def test_unauthenticated_socket_is_closed_4401_after_the_timeout(sockets, settings):
    settings.WS_AUTH_TIMEOUT = 0.3
    sock = await sockets.open()
    assert await sock.nothing(0.1)
    assert await sock.closed_with(timeout=2) == 4401


async def test_second_auth_frame_is_an_error_not_a_close(sockets):
    world = await make_world()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "auth", "token": token_for(world.mentor), "ref": "a"})
    error = await sock.recv()
    assert error["type"] == "error"
    assert error["code"] == "already_authenticated"
    assert error["ref"] == "a"


# --------------------------------------------------------------------------------------
# Client frames
# --------------------------------------------------------------------------------------


async def test_ping_is_answered_with_pong_echoing_ref(sockets):
    world = await make_world()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "ping", "ref": 42})
    assert await sock.recv() == {"type": "pong", "ref": 42}
    await sock.send({"type": "ping"})
    assert await sock.recv() == {"type": "pong"}


async def test_a_socket_waits_for_its_frames_in_one_task_not_one_per_frame():
    # A task per frame would live from one frame to the next (20 s between a client's
    # pings) and load the collector's young generations (docs/performance.md).
    from channels.testing import WebsocketCommunicator

    from tests.realtime.conftest import Socket, application

    world = await make_world()
    waited_in: set[asyncio.Task | None] = set()

    async def app(scope, receive, send):
        async def watched_receive():
            waited_in.add(asyncio.current_task())
            return await receive()

        await application()(scope, watched_receive, send)

    sock = Socket(WebsocketCommunicator(app, "/ws/live/"))
    assert (await sock.c.connect(timeout=3))[0]
    await sock.send({"type": "auth", "token": token_for(world.mentor)})
    assert (await sock.recv())["type"] == "welcome"
    for _ in range(20):
        await sock.send({"type": "ping"})
        assert await sock.recv() == {"type": "pong"}
    await sock.close()
    assert len(waited_in) == 1


async def test_mentor_subscribes_and_gets_live_events_in_order(sockets):
    world = await make_world()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}", "ref": "s"})
    subscribed = await sock.recv_type("subscribed")
    assert subscribed["topic"] == f"cohort:{world.cohort.pk}"
    assert subscribed["seq"] == 2  # two learner.added events
    assert subscribed["recovered"] is False  # no since: live only
    assert subscribed["ref"] == "s"
    assert [p["user"]["id"] for p in subscribed["presence"]] == [world.mentor.pk]
    seq_a = await acomment(world, "a")
    seq_b = await acomment(world, "b")
    first = await sock.recv_type("event")
    second = await sock.recv_type("event")
    assert (first["event"]["seq"], second["event"]["seq"]) == (seq_a, seq_b) == (3, 4)
    assert first["topic"] == f"cohort:{world.cohort.pk}"
    assert first["event"]["kind"] == "comment.added"
    assert first["event"]["data"]["text"] == "a"


async def test_learner_of_the_cohort_may_subscribe(sockets):
    world = await make_world()
    learner_user = await database_sync_to_async(lambda: world.learner.user)()
    sock = await sockets.open(learner_user)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"})
    assert (await sock.recv_type("subscribed"))["topic"] == f"cohort:{world.cohort.pk}"


async def test_staff_may_subscribe_to_any_cohort(sockets):
    world = await make_world()
    staff = await amake_user("staffer", staff=True)
    sock = await sockets.open(staff)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"})
    assert (await sock.recv_type("subscribed"))["presence"][0]["role"] == "staff"


async def test_forbidden_and_missing_cohorts_get_the_same_not_found(sockets):
    world = await make_world()
    other = await make_world()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{other.cohort.pk}", "ref": 1})
    forbidden = await sock.recv()
    await sock.send({"type": "subscribe", "topic": "cohort:999999", "ref": 1})
    missing = await sock.recv()
    assert forbidden == missing
    assert forbidden["type"] == "error"
    assert forbidden["code"] == "not_found"
    await sock.send({"type": "subscribe", "topic": "nonsense", "ref": 1})
    assert await sock.recv() == forbidden
    # Nothing of the other cohort is delivered.
    await acomment(other)
    assert await sock.nothing()


async def test_unsubscribe_stops_events(sockets):
    world = await make_world()
    sock = await sockets.open(world.mentor)
    topic = f"cohort:{world.cohort.pk}"
    await sock.send({"type": "subscribe", "topic": topic})
    await sock.recv_type("subscribed")
    await sock.send({"type": "unsubscribe", "topic": topic, "ref": "u"})
    assert await sock.recv_type("unsubscribed") == {
        "type": "unsubscribed",
        "topic": topic,
        "ref": "u",
    }
    await acomment(world)
    assert await sock.nothing(0.3)


async def test_unsubscribe_of_a_topic_not_subscribed_is_not_found(sockets):
    world = await make_world()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "unsubscribe", "topic": "cohort:1", "ref": 3})
    error = await sock.recv()
    assert (error["code"], error["ref"]) == ("not_found", 3)


async def test_more_than_fifty_topics_is_too_many_topics(sockets, settings):
    settings.WS_MAX_TOPICS = 3
    worlds = [await make_world(learners=1) for _ in range(4)]
    staff = await amake_user("staff2", staff=True)
    sock = await sockets.open(staff)
    for world in worlds[:3]:
        await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"})
        await sock.recv_type("subscribed")
    await sock.send({"type": "subscribe", "topic": f"cohort:{worlds[3].cohort.pk}", "ref": 9})
    error = await sock.recv_type("error")
    assert (error["code"], error["ref"]) == ("too_many_topics", 9)
    # Re-subscribing to a topic already held is not a new topic.
    await sock.send({"type": "subscribe", "topic": f"cohort:{worlds[0].cohort.pk}"})
    assert (await sock.recv_type("subscribed"))["topic"] == f"cohort:{worlds[0].cohort.pk}"


def test_the_default_topic_limit_is_fifty():
    from django.conf import settings

    assert settings.WS_MAX_TOPICS == 50


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', "42", "null"])
async def test_not_json_or_not_an_object_is_bad_frame(sockets, raw):
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    await sock.send(raw)
    error = await sock.recv()
    assert error["type"] == "error"
    assert error["code"] == "bad_frame"
    await sock.send({"type": "ping"})
    assert (await sock.recv())["type"] == "pong"  # still open


async def test_unknown_type_is_unknown_type_with_ref(sockets):
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "dance", "ref": {"any": "json"}})
    error = await sock.recv()
    assert error["code"] == "unknown_type"
    assert error["ref"] == {"any": "json"}


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "subscribe"},
        {"type": "subscribe", "topic": 5},
        {"type": "subscribe", "topic": "cohort:1", "since": "x"},
        {"type": "subscribe", "topic": "cohort:1", "since": -1},
        {"type": "subscribe", "topic": "cohort:1", "since": True},
        # Past the largest seq (as REST's ``after``): once a crash in the replay budget.
        {"type": "subscribe", "topic": "cohort:1", "since": 2**62 + 1},
        {"type": "subscribe", "topic": "cohort:1", "since": 10**4000},
        {"no": "type"},
    ],
)
async def test_malformed_frames_are_bad_frame(sockets, frame):
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    await sock.send(frame | {"ref": "r"})
    error = await sock.recv()
    assert (error["type"], error["code"], error["ref"]) == ("error", "bad_frame", "r")


# --------------------------------------------------------------------------------------
# Limits and liveness
# --------------------------------------------------------------------------------------


async def test_frame_over_64_kib_closes_1009(sockets):
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "ping", "pad": "x" * (64 * 1024)})
    assert await sock.closed_with() == 1009


async def test_frame_of_exactly_64_kib_is_accepted(sockets):
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    frame = '{"type":"ping","pad":"' + "x" * (64 * 1024 - 24) + '"}'
    assert len(frame.encode()) == 64 * 1024
    await sock.send(frame)
    assert (await sock.recv())["type"] == "pong"


async def test_sustained_frame_rate_over_the_limit_closes_1008(sockets):
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    for _ in range(100):
        await sock.send({"type": "ping"})
    assert await sock.closed_with() == 1008


async def test_a_short_burst_within_the_limit_stays_open(sockets):
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    for _ in range(30):
        await sock.send({"type": "ping"})
    for _ in range(30):
        assert (await sock.recv())["type"] == "pong"


async def test_socket_silent_for_the_idle_timeout_is_closed(sockets, settings):
    settings.WS_IDLE_TIMEOUT = 0.4
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    for _ in range(3):  # pings keep it open past the timeout
        await asyncio.sleep(0.2)
        await sock.send({"type": "ping"})
        assert (await sock.recv())["type"] == "pong"
    assert await sock.closed_with(timeout=2) == 1001


def test_the_default_limits_are_the_spec():
    from django.conf import settings

    assert settings.WS_MAX_FRAME_BYTES == 65536
    assert settings.WS_AUTH_TIMEOUT == 10
    assert settings.WS_IDLE_TIMEOUT == 60
    assert settings.WS_RATE_PER_SECOND == 30


async def test_slow_client_is_closed_4408_and_never_delays_the_others(settings):
    """A client whose socket stops draining fills its bounded queue and is closed."""
    settings.WS_SEND_QUEUE = 5
    world = await make_world(learners=1)
    gate = asyncio.Event()

    def stuck(app):
        async def wrapped(scope, receive, send):
            async def slow_send(message):
                if message["type"] == "websocket.send" and '"type":"event"' in message["text"]:
                    await gate.wait()  # never drains
                await send(message)

            return await app(scope, receive, slow_send)

        return wrapped

    from channels.testing import WebsocketCommunicator

    from tests.realtime.conftest import Socket, application

    stuck_comm = WebsocketCommunicator(stuck(application()), "/ws/live/")
    assert (await stuck_comm.connect())[0]
    slow = Socket(stuck_comm)
    fast = await open_socket(world.mentor)
    try:
        await slow.send({"type": "auth", "token": token_for(world.mentor)})
        await slow.recv_type("welcome")
        topic = f"cohort:{world.cohort.pk}"
        for sock in (slow, fast):
            await sock.send({"type": "subscribe", "topic": topic})
            await sock.recv_type("subscribed")
        seqs = [await acomment(world, f"n{i}") for i in range(10)]
        received = [(await fast.recv_type("event"))["event"]["seq"] for _ in seqs]
        assert received == seqs
        assert await slow.closed_with() == 4408
    finally:
        gate.set()
        await slow.close()
        await fast.close()


async def test_events_of_a_write_reach_every_subscriber_once(sockets):
    world = await make_world(learners=1)
    staff = await amake_user("staff3", staff=True)
    socks = [await sockets.open(world.mentor) for _ in range(3)] + [await sockets.open(staff)]
    topic = f"cohort:{world.cohort.pk}"
    for sock in socks:
        await sock.send({"type": "subscribe", "topic": topic})
        await sock.recv_type("subscribed")
    seq = await acomment(world)
    for sock in socks:
        assert (await sock.recv_type("event"))["event"]["seq"] == seq
    for sock in socks:
        assert await sock.nothing(0.05) or (await sock.recv())["type"] == "presence"


# --------------------------------------------------------------------------------------
# Metrics topic
# --------------------------------------------------------------------------------------


async def test_metrics_topic_is_for_mentors_and_staff_only(sockets):
    world = await make_world(learners=1)
    learner_user = await database_sync_to_async(lambda: world.learner.user)()
    sock = await sockets.open(learner_user)
    await sock.send({"type": "subscribe", "topic": "metrics:cache", "ref": 1})
    assert (await sock.recv())["code"] == "not_found"


async def test_metrics_subscribe_sends_subscribed_then_the_latest_sample_and_live_ones(
    sockets, monkeypatch
):
    from realtime import broadcasting, reads

    monkeypatch.setattr(reads, "latest_metrics", lambda: {"at": "t0", "hit_ratio": 0.5})
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": "metrics:cache", "ref": "m"})
    assert await sock.recv() == {"type": "subscribed", "topic": "metrics:cache", "ref": "m"}
    assert await sock.recv() == {
        "type": "metrics",
        "topic": "metrics:cache",
        "sample": {"at": "t0", "hit_ratio": 0.5},
    }
    await database_sync_to_async(broadcasting.publish_metrics)({"at": "t1", "hit_ratio": 0.7})
    frame = await sock.recv()
    assert frame["type"] == "metrics"
    assert frame["sample"]["at"] == "t1"


async def test_metrics_subscribe_sends_no_sample_before_the_first(sockets, monkeypatch):
    from realtime import reads

    monkeypatch.setattr(reads, "latest_metrics", lambda: None)
    world = await make_world(learners=1)
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": "metrics:cache"})
    assert (await sock.recv())["type"] == "subscribed"
    assert await sock.nothing()


async def test_hub_writes_through_the_servers_own_send_not_the_session_wrapper(sockets):
    from realtime.hub import get_hub

    world = await make_world(learners=1)
    await sockets.open(origin="http://testserver", session_user=world.mentor)
    (conn,) = get_hub().connections
    owner = getattr(conn.send, "__self__", None)
    assert type(owner).__name__ != "InstanceSessionWrapper"


async def test_a_valid_token_in_time_is_not_closed_while_its_user_lookup_queues(
    sockets, settings, monkeypatch
):
    import time

    from realtime import consumers

    settings.WS_AUTH_TIMEOUT = 0.2
    real = consumers._token_user

    def slow_lookup(validated):
        time.sleep(0.5)  # the ORM thread is busy with a reconnect storm
        return real(validated)

    monkeypatch.setattr(consumers, "_token_user", slow_lookup)
    world = await make_world(learners=1)
    sock = await sockets.open()
    await sock.send({"type": "auth", "token": token_for(world.mentor)})
    assert (await sock.recv())["type"] == "welcome"
