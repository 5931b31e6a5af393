"""Threads of one process that miss the same key wait for one computation of it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache

from dashboard.selectors import caching


@pytest.fixture(autouse=True)
def _clear():
    cache.clear()
    caching._near.clear()
    yield
    cache.clear()
    caching._near.clear()


def slow_counter(result: object = "value", delay: float = 0.2, fail_first: bool = False):
    calls: list[int] = []
    lock = threading.Lock()

    def compute():
        with lock:
            calls.append(1)
            first = len(calls) == 1
        time.sleep(delay)
        if fail_first and first:
            raise RuntimeError("the database went away")
        return result

    return compute, calls


def test_concurrent_misses_of_one_key_compute_it_once():
    compute, calls = slow_counter({"rows": 400})
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: caching.cached("snapshot", "k:1", compute, timeout=60), range(8))
        )
    assert results == [{"rows": 400}] * 8
    assert len(calls) == 1
    assert cache.get("k:1") == {"rows": 400}
    assert caching._flights == {}


def test_different_keys_do_not_wait_for_each_other():
    compute, calls = slow_counter()
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(lambda i: caching.cached("snapshot", f"k:{i}", compute, timeout=60), range(4))
        )
    assert len(calls) == 4


def test_when_the_computing_thread_fails_the_waiters_compute_their_own():
    compute, _ = slow_counter("fresh", fail_first=True)

    def call(_):
        try:
            return caching.cached("snapshot", "k:2", compute, timeout=60)
        except RuntimeError as exc:
            return exc

    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(call, range(3)))
    assert sum(isinstance(o, RuntimeError) for o in outcomes) == 1
    assert outcomes.count("fresh") == 2
    assert caching._flights == {}
    # The next caller hits what a waiter stored.
    assert caching.cached("snapshot", "k:2", lambda: "never", timeout=60) == "fresh"


def test_no_key_bypasses_the_cache_and_the_flights():
    compute, calls = slow_counter(delay=0)
    caching.cached("snapshot", None, compute, timeout=60)
    caching.cached("snapshot", None, compute, timeout=60)
    assert len(calls) == 2
