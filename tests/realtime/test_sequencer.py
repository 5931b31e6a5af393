"""The sequencer alone: events offered in any order come out in seq order, gaps filled
through the ``read_range`` it is given (here a dict, no database)."""

from __future__ import annotations

import asyncio

from realtime.sequencer import Sequencer


class Source:
    """A log of events ``seq -> json``, read like the database (optionally slowly)."""

    def __init__(self, events: dict[int, str], delay: float = 0.0, fail: bool = False) -> None:
        self.events = events
        self.delay = delay
        self.fail = fail
        self.reads: list[tuple[int, int]] = []

    async def read_range(self, after: int, upto: int) -> list[tuple[int, str]]:
        self.reads.append((after, upto))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise OSError("database gone")
        return [(s, self.events[s]) for s in sorted(self.events) if after < s <= upto]


def make(source: Source, fills: list[int] | None = None) -> tuple[Sequencer, list[int]]:
    out: list[int] = []
    seq = Sequencer(
        "cohort:1",
        lambda s, _json: out.append(s),
        source.read_range,
        on_fill=(lambda: fills.append(1)) if fills is not None else None,
    )
    return seq, out


async def settle(sequencer: Sequencer) -> None:
    for _ in range(200):
        await asyncio.sleep(0.001)
        if not sequencer.filling:
            return
    raise AssertionError("the fill did not end")


async def test_events_in_order_pass_at_once_without_a_read():
    source = Source({})
    sequencer, out = make(source)
    sequencer.start(4)
    for s in (5, 6, 7):
        sequencer.offer(s, f"e{s}")
    assert out == [5, 6, 7] and sequencer.head == 7
    assert source.reads == [] and not sequencer.filling


async def test_nothing_passes_before_start_and_start_drops_what_the_head_covers():
    sequencer, out = make(Source({}))
    assert sequencer.head is None
    sequencer.offer(3, "e3")
    sequencer.offer(4, "e4")
    assert out == []
    sequencer.start(3)  # 3 is covered by the head the readers know
    assert out == [4] and sequencer.pending == {}


async def test_duplicates_and_old_events_are_dropped():
    sequencer, out = make(Source({}))
    sequencer.start(0)
    for s in (1, 1, 2, 1, 2, 3):
        sequencer.offer(s, f"e{s}")
    assert out == [1, 2, 3]


async def test_an_early_event_waits_for_the_missing_ones_read_once_from_the_source():
    source = Source({2: "e2", 3: "e3"})
    fills: list[int] = []
    sequencer, out = make(source, fills)
    sequencer.start(1)
    sequencer.offer(4, "e4")
    assert out == []  # 2 and 3 missing
    await settle(sequencer)
    assert out == [2, 3, 4]
    assert source.reads == [(1, 3)] and fills == [1]


async def test_a_gap_the_source_does_not_have_is_skipped_not_stalled(caplog):
    source = Source({})  # the log was reset: 2 is gone
    sequencer, out = make(source)
    sequencer.start(1)
    sequencer.offer(3, "e3")
    with caplog.at_level("WARNING", logger="realtime.sequencer"):
        await settle(sequencer)
    assert out == [3]
    assert any("are gone; skipping" in r.getMessage() for r in caplog.records)


async def test_an_event_arriving_live_during_a_read_does_not_make_a_later_one_skipped():
    # The read for 2 is slow; 2 arrives live meanwhile and 4 arrives with 3 missing. The
    # read's answer no longer covers the gap: 3 must be read, not declared gone.
    source = Source({2: "e2", 3: "e3"}, delay=0.05)
    sequencer, out = make(source)
    sequencer.start(1)
    sequencer.offer(3, "e3")  # gap: 2 missing, a read of (1, 2) starts
    await asyncio.sleep(0.01)
    sequencer.offer(2, "e2")  # 2 and 3 pass on at once
    sequencer.offer(5, "e5")  # 4 missing now
    source.events[4] = "e4"
    await settle(sequencer)
    assert out == [2, 3, 4, 5]
    assert source.reads == [(1, 2), (3, 4)]


async def test_a_failed_read_is_logged_and_the_next_event_tries_again(caplog):
    source = Source({2: "e2"}, fail=True)
    sequencer, out = make(source)
    sequencer.start(1)
    with caplog.at_level("WARNING", logger="realtime.sequencer"):
        sequencer.offer(3, "e3")
        await settle(sequencer)
    assert out == [] and any("gap fill" in r.getMessage() for r in caplog.records)
    source.fail = False
    sequencer.offer(4, "e4")
    await settle(sequencer)
    assert out == [2, 3, 4]
