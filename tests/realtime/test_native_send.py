"""The fan-out's native sends (realtime/_sendmany.c) and the hub's use of them.

``send_many`` writes one frame to many sockets with the GIL released; the hub uses it for
every socket that can take bytes at once and hands the rest of a short write to the
socket's transport. The in-process server tests run uvicorn with the same protocol as
``make run`` (websockets-sansio, no compression) on this test's event loop, so the hub's
counters and sockets can be looked at directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from array import array

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect

from realtime import connection as connection_module
from realtime import hub as hub_module
from tests.realtime.conftest import token_for

try:
    from realtime._sendmany import send_many
except ImportError:  # pragma: no cover
    pytest.fail(
        "realtime._sendmany is not built: `make install` builds it (needs gcc and the "
        "Python headers, which .ci/run installs)",
        pytrace=False,
    )

FRAME = b"\x81\x05hello"


def socket_pairs(n: int) -> list[tuple[socket.socket, socket.socket]]:
    pairs = [socket.socketpair() for _ in range(n)]
    for ours, _ in pairs:
        ours.setblocking(False)
    return pairs


# --------------------------------------------------------------------------------------
# send_many itself
# --------------------------------------------------------------------------------------


def test_send_many_writes_the_same_bytes_to_every_socket():
    pairs = socket_pairs(50)
    try:
        fds = array("i", [ours.fileno() for ours, _ in pairs])
        assert send_many(fds, FRAME) == []  # every socket took all of it
        assert all(theirs.recv(64) == FRAME for _, theirs in pairs)
    finally:
        for pair in pairs:
            for sock in pair:
                sock.close()


def test_a_socket_whose_buffer_is_full_reports_how_much_it_took():
    (full, full_peer), (free, free_peer) = socket_pairs(2)
    try:
        full.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        with contextlib.suppress(BlockingIOError):
            while True:
                full.send(b"x" * 4096)
        data = b"y" * 100_000
        short = send_many(array("i", [free.fileno(), full.fileno()]), data)
        assert len(short) == 1 and short[0][0] == 1  # only the second socket
        assert 0 <= short[0][1] < len(data)
    finally:
        for sock in (full, full_peer, free, free_peer):
            sock.close()


def test_a_socket_whose_peer_is_gone_reports_zero_and_raises_no_signal():
    ((ours, theirs),) = socket_pairs(1)
    theirs.close()
    try:
        # MSG_NOSIGNAL: a broken pipe is an error result, not a SIGPIPE to the server.
        assert send_many(array("i", [ours.fileno()]), FRAME) == [(0, 0)]
    finally:
        ours.close()


def test_an_empty_list_of_sockets_sends_nothing():
    assert send_many(array("i"), FRAME) == []


def test_descriptors_must_be_a_buffer_of_c_ints():
    with pytest.raises(ValueError, match="C ints"):
        send_many(b"abc", FRAME)
    with pytest.raises(TypeError):
        send_many([1, 2], FRAME)


# --------------------------------------------------------------------------------------
# The hub behind a real uvicorn server
# --------------------------------------------------------------------------------------


async def subscribed_client(url: str, user, topic: str):
    ws = await connect(url, max_size=2**20)
    async with asyncio.timeout(10):
        await ws.send(json.dumps({"type": "auth", "token": token_for(user)}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
        while (frame := json.loads(await ws.recv()))["type"] != "subscribed":
            pass
    return ws, frame["seq"]


async def seqs_until(ws, last: int, timeout: float = 10) -> list[int]:
    """Read frames until event ``last``; return every event seq seen, in order."""
    seen: list[int] = []
    async with asyncio.timeout(timeout):
        while not seen or seen[-1] < last:
            frame = json.loads(await ws.recv())  # a corrupted stream would not parse
            if frame["type"] == "event":
                seen.append(frame["event"]["seq"])
            elif frame["type"] == "events":
                seen.extend(e["seq"] for e in frame["events"])
    return seen


def bump(world, n: int) -> int:
    """Append ``n`` events to the cohort's log; return the last seq."""
    from dashboard.services.reactions import comment_add

    for i in range(n):
        comment_add(actor=world.mentor, cohort_id=world.cohort.pk, seq=1, text=f"c{i}")
    world.cohort.refresh_from_db()
    return world.cohort.head_seq


async def test_a_fan_out_reaches_every_socket_through_the_native_path(server, world):
    topic = f"cohort:{world.cohort.pk}"
    clients = [await subscribed_client(server, world.mentor, topic) for _ in range(20)]
    hub = hub_module.get_hub()
    assert all(conn.fd >= 0 for conn in hub.connections)  # eligible for native sends

    before = hub.native_sends
    last = await sync_to_async(bump)(world, 30)
    for ws, head in clients:
        assert await seqs_until(ws, last) == list(range(head + 1, last + 1))
    assert hub.native_sends - before >= 20  # at least one fan-out went native per socket
    for ws, _ in clients:
        await ws.close()


async def test_a_reader_that_stalls_gets_the_rest_of_a_short_write_in_order(server, world):
    # A socket whose kernel buffers fill takes part of a frame; the rest must follow
    # through its transport before anything else, or its stream would be corrupt.
    topic = f"cohort:{world.cohort.pk}"
    slow, head = await subscribed_client(server, world.mentor, topic)
    fast, _ = await subscribed_client(server, world.mentor, topic)
    hub = hub_module.get_hub()
    for conn in hub.connections:
        conn.direct.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
        )
    # The slow client's receive buffer small too; past its queue of 16 frames the
    # websockets client stops reading.
    slow.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # Big events (2 KB comments), more than the small buffers hold, while `slow` reads
    # nothing: its writes come up short and queue in its transport.
    from dashboard.services.reactions import comment_add

    def big_comments(n: int) -> int:
        for _ in range(n):
            comment_add(actor=world.mentor, cohort_id=world.cohort.pk, seq=1, text="z" * 500)
        world.cohort.refresh_from_db()
        return world.cohort.head_seq

    last = await sync_to_async(big_comments)(100)
    assert await seqs_until(fast, last) == list(range(head + 1, last + 1))
    assert hub.native_short_writes > 0  # the slow socket's writes did come up short
    assert await seqs_until(slow, last) == list(range(head + 1, last + 1))
    await slow.close()
    await fast.close()


async def test_with_native_sends_off_the_hub_writes_through_transports(server, world, settings):
    settings.WS_NATIVE_SEND = False
    topic = f"cohort:{world.cohort.pk}"
    ws, head = await subscribed_client(server, world.mentor, topic)
    hub = hub_module.get_hub()
    assert all(conn.fd == -1 for conn in hub.connections)
    last = await sync_to_async(bump)(world, 5)
    assert await seqs_until(ws, last) == list(range(head + 1, last + 1))
    assert hub.native_sends == 0
    await ws.close()


async def test_the_rest_of_a_partial_write_follows_through_the_transport(
    server, world, monkeypatch
):
    # The kernel may take part of a frame (a batch of events is several KB): the rest
    # must follow before anything else on that socket. Here the first socket of every
    # native call takes exactly half.
    real = connection_module.send_many
    calls = []

    def first_takes_half(fds, data):
        calls.append(len(fds))
        half = len(data) // 2
        assert os.write(fds[0], data[:half]) == half
        rest = real(array("i", fds[1:]), data)
        return [(0, half)] + [(index + 1, sent) for index, sent in rest]

    monkeypatch.setattr(connection_module, "send_many", first_takes_half)
    topic = f"cohort:{world.cohort.pk}"
    clients = [await subscribed_client(server, world.mentor, topic) for _ in range(3)]
    hub = hub_module.get_hub()
    last = await sync_to_async(bump)(world, 20)
    for ws, head in clients:
        assert await seqs_until(ws, last) == list(range(head + 1, last + 1))
    # Events written together count once: one short write per native call.
    assert calls and hub.native_short_writes == len(calls)
    for ws, _ in clients:
        await ws.close()
