"""No loss, no duplicate, in order, across faults (issue 7, part 1).

Token clients follow one cohort on two server processes (one Redis, one database) while
writes arrive through REST at a steady rate, and meanwhile: clients drop and reconnect at
random, one server is SIGKILLed and restarted, Redis is killed and restarted. At the end
every client holds exactly the events written during the run, in order, and every write
that got a 2xx is among them.

`make test` runs a small configuration; `make chaos` the full one (CHAOS_CLIENTS=200,
CHAOS_WRITES=1000). Set CHAOS_REPORT to a path to get the figures as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.reliability.clients import TokenClient, WriteLog, percentile, write_steadily
from tests.reliability.cluster import Cluster

pytestmark = pytest.mark.slow

CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "30"))
WRITES = int(os.environ.get("CHAOS_WRITES", "150"))
RATE = float(os.environ.get("CHAOS_RATE", "15"))
DROP_PER_SECOND = float(os.environ.get("CHAOS_DROPS", "0.05"))
CATCH_UP = 90.0


def _head(cluster: Cluster, token: str) -> int:
    for index in range(cluster.servers):
        try:
            response = requests.get(
                f"{cluster.base(index)}/api/cohorts/{cluster.cohort}/events/",
                params={"after": 0, "limit": 1},
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            return response.json()["head"]
        except requests.RequestException:
            continue
    raise RuntimeError("no server answered")


def _comment_ids(cluster: Cluster, token: str, after: int, head: int) -> set[int]:
    ids: set[int] = set()
    while after < head:
        page = requests.get(
            f"{cluster.base(0)}/api/cohorts/{cluster.cohort}/events/",
            params={"after": after, "limit": 500},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["results"]
        ids.update(e["data"]["id"] for e in page if e["kind"] == "comment.added")
        after = page[-1]["seq"]
    return ids


async def _run(cluster: Cluster) -> dict:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=48))
    rng = random.Random(1000)
    token = cluster.token()
    start = _head(cluster, token)
    urls = [cluster.ws(i) for i in range(cluster.servers)]
    rest = [cluster.base(i) for i in range(cluster.servers)]
    clients = [
        TokenClient(
            urls=urls,
            rest=rest,
            token=token,
            cohort=cluster.cohort,
            since=start,
            rng=random.Random(rng.random()),
            drop_per_second=DROP_PER_SECOND,
        )
        for _ in range(CLIENTS)
    ]
    done = asyncio.Event()
    target = [start]
    followers = [asyncio.create_task(c.run(done, target)) for c in clients]
    await asyncio.sleep(2)  # let everyone subscribe

    faults: list[dict] = []
    duration = WRITES / RATE

    async def inject() -> None:
        await asyncio.sleep(duration * 0.25)
        began = time.monotonic()
        await asyncio.to_thread(cluster.kill_server, 0)
        await asyncio.sleep(1.0)
        restart = await asyncio.to_thread(cluster.start_server, 0)
        faults.append(
            {
                "fault": "SIGKILL server 0, restart after 1 s",
                "back_in_s": round(time.monotonic() - began, 2),
                "restart_s": round(restart, 2),
            }
        )
        await asyncio.sleep(max(0.0, duration * 0.6 - (time.monotonic() - began)))
        began = time.monotonic()
        await asyncio.to_thread(cluster.restart_redis)
        faults.append(
            {
                "fault": "Redis SIGKILL + restart (empty)",
                "back_in_s": round(time.monotonic() - began, 2),
            }
        )

    log = WriteLog()
    write_began = time.monotonic()
    await asyncio.gather(write_steadily(rest, token, cluster.cohort, WRITES, RATE, log), inject())
    write_seconds = time.monotonic() - write_began
    head = _head(cluster, token)
    target[0] = head
    done.set()
    began = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*followers), CATCH_UP)
    except TimeoutError:
        for task in followers:
            task.cancel()
    catch_up = time.monotonic() - began

    expected = list(range(start + 1, head + 1))
    committed_ids = _comment_ids(cluster, token, start, head)
    outages = [o for c in clients for o in c.stats.outages]
    return {
        "clients": CLIENTS,
        "servers": cluster.servers,
        "database": "postgresql" if cluster.database_url else "sqlite",
        "writes_attempted": WRITES,
        "writes_acked": len(log.acked_comment_ids),
        "writes_refused": log.failed,
        "writes_unknown": log.unknown,
        "write_seconds": round(write_seconds, 1),
        "write_p50_ms": round(percentile(log.latencies, 0.5) * 1000, 1),
        "write_p99_ms": round(percentile(log.latencies, 0.99) * 1000, 1),
        "events_committed": head - start,
        "faults": faults,
        "client_drops": sum(c.stats.drops for c in clients),
        "reconnects": sum(c.stats.reconnects for c in clients),
        "live_gaps_resubscribed": sum(c.stats.gaps for c in clients),
        "duplicates_dropped": sum(c.stats.duplicates for c in clients),
        "recovered_false": sum(c.stats.recovered_false for c in clients),
        "outage_p50_s": round(percentile(outages, 0.5), 2),
        "outage_max_s": round(max(outages, default=0.0), 2),
        "catch_up_after_last_write_s": round(catch_up, 2),
        "clients_complete": sum(c.received == expected for c in clients),
        "lost_acked_writes": len(set(log.acked_comment_ids) - committed_ids),
        "_expected": expected,
        "_received": [c.received for c in clients],
    }


def _first_difference(got: list[int], expected: list[int]) -> int:
    for index, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return index
    return min(len(got), len(expected))


def _unexpected_tracebacks(logs: str) -> list[str]:
    """Tracebacks other than channels_redis reporting its lost connection while Redis is
    down (a fault this test injects on purpose)."""
    blocks = logs.split("Traceback (most recent call last):")[1:]
    return [b[:1500] for b in blocks if "redis.exceptions.ConnectionError" not in b]


def test_every_client_gets_every_event_in_order_across_faults():
    with Cluster(servers=2) as cluster:
        report = asyncio.run(_run(cluster))
        logs = cluster.server_logs()
    expected, received = report.pop("_expected"), report.pop("_received")
    if os.environ.get("CHAOS_REPORT"):
        with open(os.environ["CHAOS_REPORT"], "w") as fh:
            json.dump(report, fh, indent=2)
    print(json.dumps(report, indent=2))
    assert report["writes_acked"] > 0.8 * WRITES, report
    assert report["events_committed"] >= report["writes_acked"]
    assert report["lost_acked_writes"] == 0, report
    for index, got in enumerate(received):
        assert got == expected, (
            f"client {index}: {len(got)} of {len(expected)} events, "
            f"first difference at {_first_difference(got, expected)}"
        )
    assert report["clients_complete"] == CLIENTS
    assert _unexpected_tracebacks(logs) == []
