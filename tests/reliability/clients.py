"""A token client that keeps a cohort's event log the way a program should: subscribe with
its last seq, replay on reconnect, re-subscribe on a gap, reload over REST when the server
says ``recovered: false``. It records what it saw so tests can judge the guarantees."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

import requests
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus


class _Resubscribe(Exception):
    """A gap in live seq: start over from the last seq held."""


@dataclass
class Stats:
    reconnects: int = 0
    drops: int = 0
    gaps: int = 0
    duplicates: int = 0
    recovered_false: int = 0
    outages: list[float] = field(default_factory=list)  # seconds from loss to subscribed


@dataclass
class TokenClient:
    urls: list[str]
    rest: list[str]
    token: str
    cohort: int
    since: int
    rng: random.Random
    drop_per_second: float = 0.0
    received: list[int] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self.last = self.since
        self.topic = f"cohort:{self.cohort}"

    def _take(self, seq: int) -> None:
        if seq <= self.last:
            self.stats.duplicates += 1
            return
        if seq != self.last + 1:
            self.stats.gaps += 1
            raise _Resubscribe
        self.received.append(seq)
        self.last = seq

    async def _reload_over_rest(self, head: int) -> None:
        """What a client does on ``recovered: false``: read the log it missed over REST."""
        while self.last < head:
            base = self.rng.choice(self.rest)
            response = await asyncio.to_thread(
                requests.get,
                f"{base}/api/cohorts/{self.cohort}/events/",
                params={"after": self.last, "limit": 500},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=10,
            )
            response.raise_for_status()
            for event in response.json()["results"]:
                if event["seq"] <= head:
                    self._take(event["seq"])

    async def run(self, done: asyncio.Event, target: list[int]) -> None:
        """Follow the log until ``done`` is set and the head in ``target[0]`` is reached."""
        lost_at: float | None = None
        while not (done.is_set() and self.last >= target[0]):
            url = self.rng.choice(self.urls)
            try:
                async with connect(url, open_timeout=5, close_timeout=1, max_size=2**23) as ws:
                    await ws.send(json.dumps({"type": "auth", "token": self.token}))
                    await ws.send(
                        json.dumps({"type": "subscribe", "topic": self.topic, "since": self.last})
                    )
                    drop_at = (
                        time.monotonic() + self.rng.expovariate(self.drop_per_second)
                        if self.drop_per_second
                        else float("inf")
                    )
                    while not (done.is_set() and self.last >= target[0]):
                        timeout = min(1.0, max(0.01, drop_at - time.monotonic()))
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout)
                        except TimeoutError:
                            if time.monotonic() >= drop_at:
                                self.stats.drops += 1
                                break
                            continue
                        frame = json.loads(raw)
                        kind = frame.get("type")
                        if kind == "subscribed":
                            if lost_at is not None:
                                self.stats.outages.append(time.monotonic() - lost_at)
                                lost_at = None
                            if not frame["recovered"]:
                                self.stats.recovered_false += 1
                                await self._reload_over_rest(frame["seq"])
                        elif kind == "event":
                            self._take(frame["event"]["seq"])
                        elif kind == "events":
                            for event in frame["events"]:
                                self._take(event["seq"])
                        elif kind == "error":
                            raise AssertionError(f"server error frame: {frame}")
            except _Resubscribe:
                pass
            except (OSError, ConnectionClosed, InvalidHandshake, InvalidStatus, TimeoutError):
                pass
            if lost_at is None:
                lost_at = time.monotonic()
            self.stats.reconnects += 1
            await asyncio.sleep(self.rng.uniform(0.05, 0.3))


@dataclass
class WriteLog:
    acked_comment_ids: list[int] = field(default_factory=list)
    failed: int = 0  # refused before reaching a server: safe to count as not written
    unknown: int = 0  # no answer: may or may not have committed
    latencies: list[float] = field(default_factory=list)


async def write_steadily(
    rest: list[str], token: str, cohort: int, count: int, rate: float, log: WriteLog
) -> None:
    """Post ``count`` comments at ``rate``/s, alternating servers, each on its own schedule
    slot (a dead server does not stall the rest)."""

    def post(index: int) -> None:
        for attempt in range(2):
            base = rest[(index + attempt) % len(rest)]
            began = time.monotonic()
            try:
                response = requests.post(
                    f"{base}/api/cohorts/{cohort}/events/1/comments/",
                    json={"text": f"chaos write {index}"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
            except requests.ConnectionError:
                continue  # refused: nothing was processed, try the sibling
            except requests.RequestException:
                log.unknown += 1
                return
            if response.status_code == 201:
                log.acked_comment_ids.append(response.json()["id"])
                log.latencies.append(time.monotonic() - began)
            else:
                log.failed += 1
            return
        log.failed += 1

    began = time.monotonic()
    tasks = []
    for index in range(count):
        delay = began + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(asyncio.to_thread(post, index)))
    await asyncio.gather(*tasks)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
