"""The heap policy of a server holding many sockets (dashboard/gcwatch.py)."""

from __future__ import annotations

import gc

import pytest

from dashboard.gcwatch import FreezeWhenSettled


@pytest.fixture
def calls(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: seen.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: seen.append("unfreeze"))
    monkeypatch.setattr(gc, "collect", lambda generation=2: seen.append(f"collect{generation}"))
    return seen


def test_a_wave_of_sockets_is_frozen_once_it_has_settled(calls):
    policy = FreezeWhenSettled(quiet=2.0)
    policy.tick(1000, now=10.0, last_open=9.5)  # still opening
    assert calls == []
    policy.tick(1000, now=12.0, last_open=9.5)  # quiet for 2.5 s
    assert calls == ["collect1", "freeze"]  # young garbage collected first
    policy.tick(1000, now=20.0, last_open=9.5)
    policy.tick(1100, now=30.0, last_open=25.0)  # +10 %: not worth another freeze
    assert calls == ["collect1", "freeze"]
    policy.tick(1300, now=40.0, last_open=35.0)  # +30 %, settled
    assert calls == ["collect1", "freeze", "collect1", "freeze"]
    assert policy.frozen_at == 1300


def test_a_handful_of_sockets_is_left_to_the_collector(calls):
    policy = FreezeWhenSettled()
    policy.tick(50, now=100.0, last_open=0.0)
    assert calls == []


def test_the_heap_is_thawed_when_many_sockets_have_left(calls, monkeypatch):
    full_collections = [0]
    monkeypatch.setattr("dashboard.gcwatch._full_collections", lambda: full_collections[0])
    policy = FreezeWhenSettled(shrink=0.25)
    policy.tick(2000, now=10.0, last_open=0.0)
    policy.tick(1600, now=11.0, last_open=0.0)  # -20 %: stays frozen
    assert calls == ["collect1", "freeze"]
    policy.tick(1400, now=12.0, last_open=0.0)  # -30 %: cycles among them may wait
    assert calls[-1] == "unfreeze" and policy.frozen_at == 0
    policy.tick(1400, now=13.0, last_open=0.0)  # no full collection yet: stays thawed
    assert calls[-1] == "unfreeze"
    full_collections[0] += 1  # the collector's next full pass reclaims the cycles
    policy.tick(1400, now=14.0, last_open=0.0)  # then the rest is frozen anew
    assert calls[-2:] == ["collect1", "freeze"]
