"""Recovery: replay from the event log, then live, with no gap and no duplicate."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from realtime import fanout as fanout_module
from realtime import reads as reads_module
from tests.factories import make_cohort
from tests.realtime.conftest import acomment, comment

pytestmark = pytest.mark.django_db(transaction=True)


async def make_world():
    return await database_sync_to_async(make_cohort)(learners=2)


async def events_until(sock, last_seq: int) -> list[int]:
    """Collect event seqs (from ``event`` and ``events`` frames) until ``last_seq``."""
    seqs: list[int] = []
    while not seqs or seqs[-1] < last_seq:
        frame = await sock.recv()
        if frame["type"] == "event":
            seqs.append(frame["event"]["seq"])
        elif frame["type"] == "events":
            seqs.extend(e["seq"] for e in frame["events"])
        else:
            assert frame["type"] == "presence", frame
    return seqs


async def test_subscribe_with_since_replays_the_missed_events_then_goes_live(sockets):
    world = await make_world()
    for i in range(5):
        await acomment(world, f"before {i}")  # seqs 3..7
    sock = await sockets.open(world.mentor)
    topic = f"cohort:{world.cohort.pk}"
    await sock.send({"type": "subscribe", "topic": topic, "since": 4, "ref": 1})
    subscribed = await sock.recv_type("subscribed")
    assert (subscribed["seq"], subscribed["recovered"]) == (7, True)
    replay = await sock.recv_type("events")
    assert [e["seq"] for e in replay["events"]] == [5, 6, 7]
    assert replay["events"][0]["data"]["text"] == "before 2"
    seq = await acomment(world, "live")
    assert (await sock.recv_type("event"))["event"]["seq"] == seq == 8


async def test_since_equal_to_the_head_is_recovered_with_nothing_to_replay(sockets):
    world = await make_world()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}", "since": 2})
    subscribed = await sock.recv_type("subscribed")
    assert (subscribed["seq"], subscribed["recovered"]) == (2, True)
    assert await sock.nothing()


async def test_since_ahead_of_the_head_means_the_log_was_reset_not_recovered(sockets):
    world = await make_world()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}", "since": 50})
    subscribed = await sock.recv_type("subscribed")
    assert (subscribed["seq"], subscribed["recovered"]) == (2, False)
    assert await sock.nothing()
    seq = await acomment(world)
    assert (await sock.recv_type("event"))["event"]["seq"] == seq  # live starts after seq


async def test_too_many_events_to_replay_is_not_recovered(sockets, settings):
    settings.WS_REPLAY_MAX = 3
    world = await make_world()
    for i in range(4):
        await acomment(world, f"n{i}")  # head 6
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}", "since": 2})
    subscribed = await sock.recv_type("subscribed")
    assert (subscribed["seq"], subscribed["recovered"]) == (6, False)
    assert await sock.nothing()
    # Exactly the limit is still recovered.
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}", "since": 3})
    subscribed = await sock.recv_type("subscribed")
    assert subscribed["recovered"] is True
    assert await events_until(sock, 6) == [4, 5, 6]


def test_the_replay_limit_is_a_thousand_events():
    from django.conf import settings

    assert settings.WS_REPLAY_MAX == 1000


async def test_replay_longer_than_one_selector_page_is_complete(sockets, settings):
    world = await make_world()

    def many():
        for i in range(520):  # over events_after's page of 500
            comment(world, f"m{i}")

    await database_sync_to_async(many)()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}", "since": 0})
    subscribed = await sock.recv_type("subscribed")
    assert (subscribed["seq"], subscribed["recovered"]) == (522, True)
    assert await events_until(sock, 522) == list(range(1, 523))


async def test_events_committed_while_the_replay_is_read_arrive_once_in_order(sockets, monkeypatch):
    """The race of recovery: writes commit (and are published) while the socket is
    between registering and reading the log, and more right after the read."""
    world = await make_world()
    for i in range(3):
        await acomment(world, f"old {i}")  # head 5
    real_read = reads_module.read_replay
    calls = []

    def racing_read(cohort_id, since, limit, *viewer):
        if not calls:
            calls.append(1)
            comment(world, "during 1")  # seq 6: in the replay and live
            comment(world, "during 2")  # seq 7
            result = real_read(cohort_id, since, limit, *viewer)
            comment(world, "after read")  # seq 8: after the read, live only
            return result
        return real_read(cohort_id, since, limit, *viewer)

    monkeypatch.setattr(reads_module, "read_replay", racing_read)
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}", "since": 3})
    subscribed = await sock.recv_type("subscribed")
    assert (subscribed["seq"], subscribed["recovered"]) == (7, True)
    seq = await acomment(world, "later")  # 9
    assert await events_until(sock, seq) == [4, 5, 6, 7, 8, 9]
    assert await sock.nothing()


async def test_concurrent_writes_and_resubscribes_never_gap_or_duplicate(sockets):
    """Writes keep committing while sockets re-subscribe with their last seq."""
    import asyncio

    world = await make_world()
    topic = f"cohort:{world.cohort.pk}"
    socks = [await sockets.open(world.mentor) for _ in range(3)]
    for sock in socks:
        await sock.send({"type": "subscribe", "topic": topic, "since": 2})
        await sock.recv_type("subscribed")

    async def writer():
        for i in range(30):
            await acomment(world, f"w{i}")
            await asyncio.sleep(0.005)

    task = asyncio.create_task(writer())
    seen: list[list[int]] = [[] for _ in socks]
    resubscribed: set[tuple[int, int]] = set()
    while any(not s or s[-1] < 32 for s in seen):
        for i, sock in enumerate(socks):
            if seen[i] and seen[i][-1] >= 32:
                continue
            frame = await sock.recv()
            if frame["type"] == "event":
                seen[i].append(frame["event"]["seq"])
            elif frame["type"] == "events":
                seen[i].extend(e["seq"] for e in frame["events"])
            if len(seen[i]) in (5, 15) and (i, len(seen[i])) not in resubscribed:
                # Re-subscribe mid-stream from the last seq held, events still in flight.
                resubscribed.add((i, len(seen[i])))
                await sock.send({"type": "subscribe", "topic": topic, "since": seen[i][-1]})
    await task
    for s in seen:
        assert s == list(range(3, 33))


async def test_an_event_whose_publish_was_lost_is_filled_from_the_database(sockets, monkeypatch):
    from realtime import broadcasting

    world = await make_world()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"})
    await sock.recv_type("subscribed")
    real_publish = broadcasting.publish_event
    monkeypatch.setattr(broadcasting, "publish_event", lambda cohort_id, payload: None)
    lost = await acomment(world, "lost")  # committed, never published
    monkeypatch.setattr(broadcasting, "publish_event", real_publish)
    seq = await acomment(world, "next")
    assert await events_until(sock, seq) == [lost, seq]


async def test_events_published_out_of_order_are_passed_on_in_order(sockets):
    from asgiref.sync import sync_to_async

    from dashboard.models import Event
    from realtime import broadcasting
    from realtime.protocol import event_payload

    world = await make_world()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"})
    await sock.recv_type("subscribed")

    def write_two_then_publish_reversed():
        from django.db import transaction

        from dashboard.services import events as events_module

        original = events_module.broadcast_on_commit
        events_module.broadcast_on_commit = lambda event: None
        try:
            with transaction.atomic():
                comment(world, "x")
                comment(world, "y")
        finally:
            events_module.broadcast_on_commit = original
        rows = list(Event.objects.filter(cohort=world.cohort, seq__in=[3, 4]).order_by("-seq"))
        for row in rows:  # 4 first, then 3
            broadcasting.publish_event(world.cohort.pk, event_payload(row))

    await sync_to_async(write_two_then_publish_reversed)()
    assert await events_until(sock, 4) == [3, 4]
    assert await sock.nothing()


async def test_subscribing_to_a_live_topic_reads_no_head_from_the_database(sockets, monkeypatch):
    world = await make_world()
    topic = f"cohort:{world.cohort.pk}"
    first = await sockets.open(world.mentor)
    await first.send({"type": "subscribe", "topic": topic})
    await first.recv_type("subscribed")
    seq = await acomment(world)
    await first.recv_type("event")

    def no_query(*args):
        raise AssertionError("the head of a live topic is known")

    monkeypatch.setattr(reads_module, "read_head", no_query)
    monkeypatch.setattr(reads_module, "read_replay", no_query)
    second = await sockets.open(world.mentor)
    await second.send({"type": "subscribe", "topic": topic})
    assert (await second.recv_type("subscribed"))["seq"] == seq
    await second.send({"type": "subscribe", "topic": topic, "since": seq})
    again = await second.recv_type("subscribed")
    assert (again["seq"], again["recovered"]) == (seq, True)


async def test_sliced_fan_out_keeps_order_while_sockets_subscribe_mid_fan_out(sockets, monkeypatch):
    import asyncio

    monkeypatch.setattr(fanout_module, "FANOUT_SLICE", 1)  # yield after every socket
    world = await make_world()
    topic = f"cohort:{world.cohort.pk}"
    socks = [await sockets.open(world.mentor) for _ in range(4)]
    for sock in socks:
        await sock.send({"type": "subscribe", "topic": topic, "since": 2})
        await sock.recv_type("subscribed")

    async def writer():
        for i in range(10):
            await acomment(world, f"s{i}")

    task = asyncio.create_task(writer())
    late = await sockets.open(world.mentor)
    await late.send({"type": "subscribe", "topic": topic, "since": 2})
    await late.recv_type("subscribed")
    await task
    for sock in [*socks, late]:
        assert await events_until(sock, 12) == list(range(3, 13))


async def test_events_queued_behind_a_fan_out_go_out_together_in_order(sockets):
    from asgiref.sync import sync_to_async

    from dashboard.models import Event
    from realtime.hub import get_hub
    from realtime.protocol import dumps, event_payload

    world = await make_world()
    socks = [await sockets.open(world.mentor) for _ in range(3)]
    for sock in socks:
        await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"})
        await sock.recv_type("subscribed")

    def write_three_unpublished():
        from dashboard.services import events as events_module

        original = events_module.broadcast_on_commit
        events_module.broadcast_on_commit = lambda event: None
        try:
            for i in range(3):
                comment(world, f"b{i}")
        finally:
            events_module.broadcast_on_commit = original
        rows = Event.objects.filter(cohort=world.cohort, seq__gt=2).order_by("seq")
        return [dumps(event_payload(row)) for row in rows]

    payloads = await sync_to_async(write_three_unpublished)()
    hub = get_hub()
    for seq, payload in zip([3, 4, 5], payloads, strict=True):
        hub._on_event(world.cohort.pk, seq, payload)  # faster than the fan-out runs
    assert [len(item[3]) for item in hub.fanout.queue] == [3]  # one batch
    for sock in socks:
        assert await events_until(sock, 5) == [3, 4, 5]
        assert await sock.nothing(0.05)


async def test_a_replay_the_database_cannot_read_is_an_error_and_the_socket_stays(
    sockets, monkeypatch
):
    """The log read fails (database down): ``error`` ``unavailable`` with the ref, nothing
    left subscribed (no event arrives), and the next subscribe recovers as usual."""
    from django.db import OperationalError

    world = await make_world()
    for i in range(3):
        await acomment(world, f"before {i}")  # seqs 3..5
    sock = await sockets.open(world.mentor)
    topic = f"cohort:{world.cohort.pk}"
    original = reads_module.read_replay

    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(reads_module, "read_replay", down)
    await sock.send({"type": "subscribe", "topic": topic, "since": 3, "ref": "r1"})
    error = await sock.recv_type("error")
    assert (error["code"], error["ref"]) == ("unavailable", "r1")
    await acomment(world, "while unsubscribed")  # seq 6: not delivered
    assert await sock.nothing()

    monkeypatch.setattr(reads_module, "read_replay", original)
    await sock.send({"type": "subscribe", "topic": topic, "since": 3, "ref": "r2"})
    subscribed = await sock.recv_type("subscribed")
    assert (subscribed["seq"], subscribed["recovered"], subscribed["ref"]) == (6, True, "r2")
    assert await events_until(sock, 6) == [4, 5, 6]
