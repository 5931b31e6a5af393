"""The runtime tuning of a server holding many sockets (realtime/runtime.py): the heap
policy, the pause log, the one call that installs them and its interpreter guard."""

from __future__ import annotations

import gc
import itertools
import logging
import sys
import time

import pytest

from realtime import runtime
from realtime.runtime import HeapPolicy


@pytest.fixture
def thresholds(monkeypatch):
    current = [700, 10, 10]
    monkeypatch.setattr(gc, "get_threshold", lambda: tuple(current))
    monkeypatch.setattr(gc, "set_threshold", lambda *given: current.__setitem__(slice(None), given))
    return current


@pytest.fixture
def calls(monkeypatch, thresholds):
    seen: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: seen.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: seen.append("unfreeze"))
    monkeypatch.setattr(gc, "collect", lambda generation=2: seen.append(f"collect{generation}"))
    return seen


def steps(calls: list[str]) -> list[str]:
    """The calls without the ticks' young passes."""
    return [call for call in calls if call != "collect1"]


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
    assert steps(calls) == ["collect2", "freeze"] * len(frozen_at)  # a full pass before each
    # Every other tick since the first freeze runs a young pass.
    assert policy.young_passes == calls.count("collect1") == 70 - 2 - (len(frozen_at) - 1)
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
    policy.tick(2150, 2150, 0)  # +150 < 10 % of 2,000: no step, the tick's young pass
    assert calls == ["collect2", "freeze", "collect1"]
    policy.tick(2200, 2200, 0)  # +200
    assert steps(calls) == ["collect2", "freeze"] * 2


def test_churn_at_a_constant_count_thaws_collects_and_refreezes_once(calls):
    policy = HeapPolicy(shrink=0.25, grow=10.0)  # no step freeze gets in the way here
    policy.tick(2000, 2000, 0)
    assert calls == ["collect2", "freeze"]
    opened, closed = 2000, 0
    for _ in range(9):  # 50 close and 50 open a second: the count never falls
        opened, closed = opened + 50, closed + 50
        policy.tick(2000, opened, closed)
    assert closed == 450 and steps(calls) == ["collect2", "freeze"]  # under a quarter
    opened, closed = opened + 50, closed + 50
    policy.tick(2000, opened, closed)  # 500 closed since the freeze: a quarter
    assert steps(calls) == ["collect2", "freeze", "unfreeze", "collect2", "freeze"]
    assert policy.thaws == 1


def test_the_counters_restart_after_a_thaw(calls):
    policy = HeapPolicy(shrink=0.25, grow=10.0)
    policy.tick(400, 400, 0)
    policy.tick(400, 450, 50)
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


def test_a_burst_of_closes_is_thawed_once_after_it_ends(calls):
    # 10,000 sockets frozen, then a proxy drops them all over three seconds.
    policy = HeapPolicy(shrink=0.25, grow=10.0)
    policy.tick(10_000, 10_000, 0)
    for open_now in (6_000, 2_000, 0):  # each tick closes 20-40 %: still leaving
        policy.tick(open_now, 10_000, 10_000 - open_now)
        assert "unfreeze" not in calls and policy.deferred > 0
    policy.tick(0, 10_000, 10_000)  # nothing closed this tick: the one pass, over what is left
    assert steps(calls) == ["collect2", "freeze", "unfreeze", "collect2", "freeze"]
    assert (policy.thaws, policy.deferred) == (1, 0)
    policy.tick(0, 10_000, 10_000)
    assert policy.thaws == 1


def test_the_thaw_waits_for_a_burst_a_bounded_number_of_ticks(calls):
    policy = HeapPolicy(shrink=0.25, grow=10.0, max_defer=3)
    policy.tick(10_000, 10_000, 0)
    thawed_at = None
    for tick in range(1, 20):  # 600 close and 600 open every tick: a burst that goes on
        policy.tick(10_000, 10_000 + 600 * tick, 600 * tick)
        if policy.thaws:
            thawed_at = tick
            break
    # Due from the 5th tick (3,000 closed; a quarter is 2,500): it waited 3 ticks, then went.
    assert thawed_at == 8
    assert steps(calls) == ["collect2", "freeze", "unfreeze", "collect2", "freeze"]


def test_a_few_closes_a_tick_are_not_a_burst(calls):
    # 5 % of the frozen sockets, and at least min_step, in one tick make a burst.
    policy = HeapPolicy(shrink=0.25, grow=10.0, min_step=100, burst=0.05)
    policy.tick(4_000, 4_000, 0)
    closed = 0
    while "unfreeze" not in calls:
        closed += 199  # under 5 % of 4,000 a tick
        policy.tick(4_000, 4_000 + closed, closed)
    assert closed == 1_194  # the first tick with a quarter of 4,000 closed
    assert policy.deferred == 0


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
        policy.close()
    del held


def test_once_frozen_each_tick_runs_a_young_pass_and_a_full_one_every_so_often(calls):
    policy = HeapPolicy(full_every=3)
    policy.tick(1000, 1000, 0)
    for _ in range(6):  # nothing opens or closes
        policy.tick(1000, 1000, 0)
    assert calls == ["collect2", "freeze"] + ["collect1", "collect1", "collect2"] * 2
    assert (policy.young_passes, policy.full_passes) == (4, 2)


def test_the_collectors_own_full_passes_are_held_while_the_policy_runs_them(calls, thresholds):
    policy = HeapPolicy(shrink=0.95)  # no thaw gets in the way here
    policy.tick(50, 50, 0)  # a handful of sockets: the collector's business
    assert thresholds == [700, 10, 10] and calls == []
    policy.tick(1000, 1000, 0)
    assert thresholds[:2] == [700, 10] and thresholds[2] >= 10**9  # held
    policy.tick(99, 1000, 901)  # under the floor: no young pass, full passes given back
    assert thresholds == [700, 10, 10] and "collect1" not in calls
    policy.tick(1000, 1901, 901)
    assert thresholds[2] >= 10**9
    policy.close()  # the hub stopping
    assert thresholds == [700, 10, 10]


def test_renewed_objects_pile_up_in_the_young_generations_until_a_tick():
    # The real collector. A socket's objects renew: each new one replaces an old one,
    # whose death takes one off the collector's count, so no young pass runs and the
    # young generations grow. Once the policy has frozen, its tick collects them.
    before = gc.get_threshold()
    gc.collect()
    held = [[i] for i in range(30_000)]
    policy = HeapPolicy()
    try:
        policy.tick(100, 100, 0)  # the first step: held is frozen
        for i in range(len(held)):
            held[i] = [i]  # one born, one dies
        assert len(gc.get_objects(0)) + len(gc.get_objects(1)) >= 20_000  # the pile-up
        policy.tick(100, 100, 0)
        assert policy.young_passes == 1
        assert len(gc.get_objects(0)) + len(gc.get_objects(1)) < 1_000
    finally:
        gc.unfreeze()
        policy.close()
    assert gc.get_threshold() == before
    del held


# --------------------------------------------------------------------------------------
# The one call, and its interpreter guard
# --------------------------------------------------------------------------------------


@pytest.fixture
def restored_switch_interval():
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)
    runtime.uninstall_pause_log()


def test_install_tunes_a_measured_interpreter(restored_switch_interval, calls):
    assert runtime.unsupported_reason() is None  # the interpreter of this suite
    assert runtime.install(switch_interval=0.0005, pause_log_ms=50) is True
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    assert calls == []  # no start-up freeze: it won nothing (docs/performance.md)
    assert runtime._on_gc in gc.callbacks


def test_an_unmeasured_interpreter_gets_no_tuning_and_one_log_line(
    restored_switch_interval, calls, monkeypatch, caplog
):
    monkeypatch.setattr(runtime, "MEASURED", ((3, 0), (3, 1)))
    major, minor = sys.version_info[:2]
    before = sys.getswitchinterval()
    with caplog.at_level(logging.INFO, logger="realtime.runtime"):
        assert runtime.install(switch_interval=0.0005, pause_log_ms=50) is False
    assert [r.getMessage() for r in caplog.records] == [
        f"runtime tuning off: Python {major}.{minor}'s collector was not measured"
        " (measured on 3.0-3.1)"
    ]
    assert sys.getswitchinterval() == before
    assert calls == []  # no freeze
    assert runtime._on_gc in gc.callbacks  # the pause log only observes: still on
    policy = HeapPolicy(min_step=1, floor=1)
    policy.tick(sockets=500, opened=500, closed=0)
    assert calls == [] and policy.freezes == 0  # the collector keeps its own schedule


@pytest.mark.parametrize("threshold_ms, logged", [(0, True), (10_000, False)])
def test_a_collection_is_logged_as_a_warning_only_past_the_threshold(caplog, threshold_ms, logged):
    from realtime import runtime

    runtime.install_pause_log(threshold_ms)
    try:
        with caplog.at_level(logging.WARNING, logger="realtime.runtime"):
            gc.collect()
    finally:
        runtime.uninstall_pause_log()
    records = [r for r in caplog.records if r.name == "realtime.runtime"]
    assert len(records) == (1 if logged else 0)
    if logged:
        assert "garbage collection paused the process" in records[0].getMessage()
        assert records[0].gc_generation == 2  # type: ignore[attr-defined]


def test_a_collection_that_waited_in_a_finalizer_says_how_little_of_it_was_collecting(caplog):
    from realtime import runtime

    class Sleeper:
        def __del__(self) -> None:
            time.sleep(0.08)  # off the CPU, as a finalizer that handed the GIL away

    cycle = Sleeper()
    cycle.self = cycle  # type: ignore[attr-defined]
    del cycle
    runtime.install_pause_log(50)
    try:
        with caplog.at_level(logging.WARNING, logger="realtime.runtime"):
            gc.collect(0)  # the young cycle only: the test process's own heap is large
    finally:
        runtime.uninstall_pause_log()
    (record,) = [r for r in caplog.records if r.name == "realtime.runtime"]
    assert record.gc_pause_ms >= 80  # type: ignore[attr-defined]
    assert record.gc_cpu_ms < record.gc_pause_ms / 2  # type: ignore[attr-defined]
    assert "of it collecting" in record.getMessage()
