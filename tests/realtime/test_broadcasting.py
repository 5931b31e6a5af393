"""The one publish path: events, metrics and presence all end in ``broadcasting._send``."""

from __future__ import annotations

import asyncio
import threading

from realtime import broadcasting, protocol, serverloop


def recorder(monkeypatch) -> list[tuple[str, dict, bool]]:
    sent: list[tuple[str, dict, bool]] = []

    async def send(group, message):
        sent.append((group, message, threading.current_thread() is threading.main_thread()))

    monkeypatch.setattr(broadcasting, "_send", send)
    return sent


def test_every_kind_of_message_goes_through_the_one_send(monkeypatch):
    sent = recorder(monkeypatch)
    entry = {"user": {"id": 1, "name": "a"}, "role": "learner", "since": "t"}
    broadcasting.publish_event(3, {"seq": 7, "kind": "cohort.updated", "data": {}})  # type: ignore[typeddict-item]
    broadcasting.publish_metrics({"hit_ratio": 1})
    broadcasting.publish_presence(3, joins=[entry], leaves=[])  # type: ignore[list-item]
    assert [(group, message["type"]) for group, message, _ in sent] == [
        ("cohort.3", protocol.MSG_EVENT),
        ("metrics.cache", protocol.MSG_METRICS),
        ("cohort.3", protocol.MSG_PRESENCE),
    ]
    assert sent[0][1]["seq"] == 7 and sent[2][1]["joins"] == [entry]


async def test_on_the_server_loop_publish_returns_before_the_send(monkeypatch):
    sent = recorder(monkeypatch)
    serverloop.mark(asyncio.get_running_loop())
    try:
        broadcasting.publish("g", {"type": "x"})
        assert sent == []  # a task: the caller never waits on the layer
        await asyncio.sleep(0)
        assert [group for group, _, _ in sent] == ["g"]
    finally:
        serverloop.forget(asyncio.get_running_loop())


async def test_from_another_thread_the_send_runs_on_the_server_loop(monkeypatch):
    sent = recorder(monkeypatch)
    loop = asyncio.get_running_loop()
    serverloop.mark(loop)
    try:
        await loop.run_in_executor(None, broadcasting.publish, "g", {"type": "x"})
        for _ in range(100):
            if sent:
                break
            await asyncio.sleep(0.01)
        assert sent == [("g", {"type": "x"}, True)]  # on the loop's (main) thread
    finally:
        serverloop.forget(loop)


def test_a_failing_layer_never_raises_into_the_publisher(monkeypatch):
    async def broken(group, message):
        raise OSError("layer gone")

    monkeypatch.setattr(broadcasting, "_send", broken)
    broadcasting.publish("g", {"type": "x"})  # logged, not raised
