"""The hub: its sequencer fills a gap from the database (never skips one that is there),
its sweep reports the socket counts to the heap policy, and its shutdown is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer

from dashboard.models import Event
from realtime import broadcasting, protocol
from realtime import hub as hub_module
from realtime import reads as reads_module
from tests.factories import make_cohort
from tests.realtime.test_recovery import events_until

pytestmark = pytest.mark.django_db(transaction=True)


def unpublished_comments(world, n: int) -> list[tuple[int, str]]:
    """Append ``n`` events without publishing them; return (seq, published json)."""
    from dashboard.services.reactions import comment_add

    for i in range(n):
        comment_add(actor=world.mentor, cohort_id=world.cohort.pk, seq=1, text=f"c{i}")
    rows = Event.objects.filter(cohort=world.cohort).order_by("seq")
    return [(e.seq, protocol.dumps(protocol.event_payload(e, as_published=True))) for e in rows][
        -n:
    ]


async def test_an_event_arriving_live_during_a_gap_fill_does_not_make_a_later_one_skipped(
    sockets, monkeypatch
):
    # Two processes publish in commit order each, so one hub can see e2 before e1. The
    # fill for e1 reads the database; meanwhile e1 arrives live (e1, e2 go out) and e4
    # arrives with e3 still missing. The read returns only e1: e3 is in the database
    # and must be read, not declared gone.
    world = await database_sync_to_async(make_cohort)(learners=1)
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"})
    head = (await sock.recv_type("subscribed"))["seq"]

    monkeypatch.setattr(broadcasting, "publish_event", lambda cohort_id, payload: None)
    (e1, e2, e3, e4) = await database_sync_to_async(unpublished_comments)(world, 4)
    assert e1[0] == head + 1

    real_read = reads_module.read_range
    reads: list[tuple[int, int]] = []

    def slow_read(cohort_id: int, after: int, upto: int):
        reads.append((after, upto))
        if len(reads) == 1:
            time.sleep(0.3)
        return real_read(cohort_id, after, upto)

    monkeypatch.setattr(reads_module, "read_range", slow_read)
    hub = hub_module.get_hub()
    cohort_id = world.cohort.pk
    hub._on_event(cohort_id, *e2)  # gap: e1 missing, the fill starts
    await asyncio.sleep(0.1)
    hub._on_event(cohort_id, *e1)  # e1 arrives live during the read
    hub._on_event(cohort_id, *e4)  # e3 missing now
    assert await events_until(sock, e4[0]) == [e1[0], e2[0], e3[0], e4[0]]
    assert reads[0] == (head, head + 1) and len(reads) == 2


async def test_the_sweep_reports_the_socket_count_to_the_heap_policy(sockets):
    world = await database_sync_to_async(make_cohort)(learners=1)
    first = await sockets.open(world.mentor)
    await sockets.open(world.mentor)
    hub = hub_module.get_hub()
    ticks: list[tuple[int, int, int]] = []

    class Recorder:
        def tick(self, sockets: int, opened: int, closed: int) -> None:
            ticks.append((sockets, opened, closed))

        def close(self) -> None:
            ticks.append((-1, -1, -1))

    hub.heap = Recorder()  # type: ignore[assignment]
    deadline = time.monotonic() + 5
    while not ticks and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert ticks and ticks[-1] == (2, 2, 0)  # open now, opened so far, closed so far
    await first.close()
    while ticks[-1] != (1, 2, 1) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert ticks[-1] == (1, 2, 1)
    await hub.stop()
    assert ticks[-1] == (-1, -1, -1)  # stopped: the policy gave the collector its passes back


class LayerStuckInCleanUp(InMemoryChannelLayer):
    """A layer whose ``receive``, once cancelled, never finishes its clean-up: what
    channels-redis does when it unsubscribes from a Redis that stopped answering."""

    async def receive(self, channel: str) -> dict:
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            await asyncio.Event().wait()
            raise


async def test_stopping_leaves_behind_a_task_stuck_in_the_layer_instead_of_hanging(
    sockets, monkeypatch
):
    # The previous CI run hung for an hour here: stop() awaited the receive loop, which
    # was stuck unsubscribing from a Redis that no longer answered.
    monkeypatch.setattr(hub_module, "STOP_WAIT", 0.2)
    world = await database_sync_to_async(make_cohort)(learners=1)
    hub = hub_module.get_hub()
    hub.layer = LayerStuckInCleanUp()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"})
    await sock.recv_type("subscribed")
    stuck = [task for task in hub.tasks if task.get_name() == "realtime-receive"]
    assert stuck

    started = time.monotonic()
    await hub.stop()
    assert time.monotonic() - started < 2  # 0.2 s a step at most, not forever
    assert await sock.closed_with() == 1001  # the sockets were closed first
    assert not stuck[0].done()  # left behind, still stuck

    stuck[0].cancel()  # a second cancel gets it out, before the loop closes
    with contextlib.suppress(asyncio.CancelledError):
        await stuck[0]
