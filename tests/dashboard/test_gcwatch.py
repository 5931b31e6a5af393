"""The heap policy of a server holding many sockets (dashboard/gcwatch.py)."""

from __future__ import annotations

import gc
import itertools

import pytest

from dashboard.gcwatch import HeapPolicy


@pytest.fixture
def calls(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: seen.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: seen.append("unfreeze"))
    monkeypatch.setattr(gc, "collect", lambda generation=2: seen.append(f"collect{generation}"))
    return seen


def test_a_steady_ramp_is_frozen_in_steps_without_waiting_for_quiet(calls):
    # 5,000 sockets over 70 s, ~71 a second, every tick: no quiet second ever.
    policy = HeapPolicy(min_step=100, grow=0.1)
    frozen_at: list[int] = []
    for second in range(1, 71):
        opened = second * 5000 // 70
        before = policy.freezes
        policy.tick(opened, opened, 0)
        if policy.freezes > before:
            frozen_at.append(opened)
    assert frozen_at[0] == 142  # the first tick with 100 sockets open and 100 new
    assert len(frozen_at) >= 15  # step by step through the ramp
    for previous, current in itertools.pairwise(frozen_at):
        assert current - previous >= max(100, 0.1 * previous)  # steps grow with the heap
        assert current - previous <= max(100, 0.1 * previous) + 72  # one tick late at most
    assert calls == ["collect2", "freeze"] * len(frozen_at)  # a full pass before each
    assert policy.frozen_sockets == frozen_at[-1]


def test_a_handful_of_sockets_is_left_to_the_collector(calls):
    policy = HeapPolicy()
    policy.tick(50, 50, 0)
    policy.tick(99, 500, 401)  # many opened, but under 100 open now
    assert calls == []


def test_fewer_new_sockets_than_a_step_are_not_frozen(calls):
    policy = HeapPolicy(min_step=100, grow=0.1)
    policy.tick(2000, 2000, 0)
    assert calls == ["collect2", "freeze"]
    policy.tick(2150, 2150, 0)  # +150 < 10 % of 2,000
    assert calls == ["collect2", "freeze"]
    policy.tick(2200, 2200, 0)  # +200
    assert calls == ["collect2", "freeze"] * 2


def test_churn_at_a_constant_count_thaws_collects_and_refreezes_once(calls):
    policy = HeapPolicy(shrink=0.25, grow=10.0)  # no step freeze gets in the way here
    policy.tick(2000, 2000, 0)
    assert calls == ["collect2", "freeze"]
    opened, closed = 2000, 0
    for _ in range(9):  # 50 close and 50 open a second: the count never falls
        opened, closed = opened + 50, closed + 50
        policy.tick(2000, opened, closed)
    assert closed == 450 and calls == ["collect2", "freeze"]  # under a quarter of 2,000
    opened, closed = opened + 50, closed + 50
    policy.tick(2000, opened, closed)  # 500 closed since the freeze: a quarter
    assert calls == ["collect2", "freeze", "unfreeze", "collect2", "freeze"]
    assert policy.thaws == 1


def test_the_counters_restart_after_a_thaw(calls):
    policy = HeapPolicy(shrink=0.25, grow=10.0)
    policy.tick(400, 400, 0)
    policy.tick(400, 500, 100)  # 100 closed: a quarter of 400, and the floor of 100
    assert calls[-3:] == ["unfreeze", "collect2", "freeze"]
    assert (policy.frozen_sockets, policy.opened_at_freeze, policy.closed_at_freeze) == (
        400,
        500,
        100,
    )
    policy.tick(400, 599, 199)  # 99 closed since the thaw: not yet
    assert policy.thaws == 1
    policy.tick(400, 600, 200)
    assert policy.thaws == 2


def test_closed_sockets_before_the_first_freeze_do_not_count(calls):
    policy = HeapPolicy(shrink=0.25, grow=10.0)
    policy.tick(60, 1000, 940)  # heavy churn, never 100 open: nothing frozen
    policy.tick(400, 1340, 940)
    assert calls == ["collect2", "freeze"]
    policy.tick(400, 1439, 1039)  # 99 closed since the freeze
    assert "unfreeze" not in calls


def test_a_freeze_takes_the_sockets_objects_out_of_full_collections():
    # The real collector: what the policy froze is in the permanent generation, which
    # full collections do not walk.
    gc.collect()
    baseline = gc.get_freeze_count()
    held = [[i] for i in range(50_000)]  # tracked objects a socket would keep
    policy = HeapPolicy()
    try:
        policy.tick(100, 100, 0)
        assert policy.freezes == 1
        assert gc.get_freeze_count() >= baseline + len(held)
        assert not any(obj is held[-1] for obj in gc.get_objects())  # what passes walk
    finally:
        gc.unfreeze()
    del held
