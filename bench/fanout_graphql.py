"""GraphQL subscription fan-out: N graphql-transport-ws subscribers of one cohort, with
M ``/ws/live/`` subscribers of the same cohort in the same run, REST writes at R/s.

The world, the writer and the server are ``bench/fanout.py``'s (one uvicorn process as
``make run`` serves it, a temp SQLite file). Each load-generator process opens its share
of both kinds of socket with the ``websockets`` client; every delivery is timed from the
event's commit (its ``at``) to its receipt. Reported per kind: delivered/expected,
duplicates and gaps, latency p50/p99/max; and the server's CPU over the writes.

    .venv/bin/python bench/fanout_graphql.py --clients 1000 --live 1000 --rate 20 --nice 10
    .venv/bin/python bench/fanout_graphql.py --clients 1000 --live 1000 --apart --nice 10
    .venv/bin/python bench/fanout_graphql.py --clients 20 --live 20 --rate 5 --duration 3

It is a benchmark, not a test: run it on a quiet machine. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fanout import World, Writer, parse_at, pct, raise_fd_limit, tokens_for

SUBSCRIPTION = "subscription($c: ID!) { cohortEvents(cohort: $c) { seq at } }"


async def _graphql_socket(url: str, token: str, cohort: int, got: list, ready: Any) -> None:
    from websockets.asyncio.client import connect

    async with connect(url + "/graphql/", subprotocols=["graphql-transport-ws"]) as ws:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        await ws.recv()  # connection_ack
        payload = {"query": SUBSCRIPTION, "variables": {"c": cohort}}
        # A unique id per operation, as graphql-ws clients make them (a UUID).
        subscribe = {"id": str(uuid.uuid4()), "type": "subscribe", "payload": payload}
        await ws.send(json.dumps(subscribe))
        ready.set_result(None) if not ready.done() else None
        async for text in ws:
            message = json.loads(text)
            if message.get("type") == "next":
                event = message["payload"]["data"]["cohortEvents"]
                got.append((event["seq"], time.time() - parse_at(event["at"])))


async def _live_socket(url: str, token: str, cohort: int, got: list, ready: Any) -> None:
    from websockets.asyncio.client import connect

    async with connect(url + "/ws/live/") as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await ws.send(json.dumps({"type": "subscribe", "topic": f"cohort:{cohort}"}))
        async for text in ws:
            frame = json.loads(text)
            if frame.get("type") == "subscribed" and not ready.done():
                ready.set_result(None)
            events = [frame["event"]] if frame.get("type") == "event" else frame.get("events", [])
            now = time.time()
            for event in events:
                got.append((event["seq"], now - parse_at(event["at"])))


def worker_main(
    conn: Any, url: str, token: str, cohort: int, n_gql: int, n_live: int, nice: int = 0
) -> None:
    """Open the sockets, say so, collect deliveries until told to stop, send them back."""
    if nice:
        # The clients stand in for other machines: they yield the shared cores to the
        # server when both want them (the REST writer keeps the normal priority).
        os.nice(nice)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        sockets: list[tuple[str, list]] = []
        tasks, readies = [], []
        for kind, n, opener in (
            ("graphql", n_gql, _graphql_socket),
            ("live", n_live, _live_socket),
        ):
            for _ in range(n):
                got: list = []
                ready = loop.create_future()
                sockets.append((kind, got))
                readies.append(ready)
                tasks.append(asyncio.create_task(opener(url, token, cohort, got, ready)))
        await asyncio.wait_for(asyncio.gather(*readies), 120)
        conn.send("ready")
        await loop.run_in_executor(None, conn.recv)  # "stop"
        for task in tasks:
            task.cancel()
        conn.send(sockets)

    asyncio.run(run())


def summarise(kind: str, sockets: list[tuple[str, list]], seqs: list[int]) -> dict:
    expected = set(seqs)
    latencies: list[float] = []
    delivered = duplicates = missing = 0
    for socket_kind, got in sockets:
        if socket_kind != kind:
            continue
        seen = [seq for seq, _ in got if seq in expected]
        delivered += len(set(seen))
        duplicates += len(seen) - len(set(seen))
        missing += len(expected - set(seen))
        latencies.extend(lat for seq, lat in got if seq in expected)
    count = sum(1 for k, _ in sockets if k == kind)
    return {
        "sockets": count,
        "delivered": delivered,
        "expected": count * len(expected),
        "duplicates": duplicates,
        "missing": missing,
        "latency_p50_ms": round(pct(latencies, 0.5) * 1000, 1),
        "latency_p99_ms": round(pct(latencies, 0.99) * 1000, 1),
        "latency_max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
    }


def measure(
    args: argparse.Namespace,
    world: World,
    token: str,
    cohort: int,
    writer: Writer,
    n_gql: int,
    n_live: int,
) -> dict[str, Any]:
    """Open ``n_gql`` GraphQL and ``n_live`` /ws/live/ subscribers, write, and report."""
    workers = []
    try:
        ctx = mp.get_context("fork")
        for i in range(args.workers):
            share = (
                n_gql // args.workers + (i < n_gql % args.workers),
                n_live // args.workers + (i < n_live % args.workers),
            )
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=worker_main,
                args=(child, f"ws://127.0.0.1:{world.ports[0]}", token, cohort, *share, args.nice),
                daemon=True,
            )
            proc.start()
            workers.append((parent, proc))
        for parent, _ in workers:
            assert parent.recv() == "ready"
        time.sleep(0.5)
        writer.reset()
        cpu_before = world.stats()[0][0]
        writer.run(args.rate, args.duration)
        time.sleep(args.drain)
        cpu = world.stats()[0][0] - cpu_before
        sockets: list = []
        for parent, _ in workers:
            parent.send("stop")
        for parent, proc in workers:
            sockets.extend(parent.recv())
            proc.join(10)
        return {
            "rate": args.rate,
            "writes": len(writer.seqs),
            "write_errors": writer.errors,
            "write_p99_ms": round(pct(writer.latencies, 0.99) * 1000, 1),
            "server_cpu_s": round(cpu, 2),
            "graphql": summarise("graphql", sockets, writer.seqs),
            "live": summarise("live", sockets, writer.seqs),
        }
    finally:
        for _, proc in workers:
            if proc.is_alive():
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="GraphQL subscribers")
    parser.add_argument("--live", type=int, default=1000, help="/ws/live/ subscribers beside")
    parser.add_argument("--rate", type=float, default=20, help="REST writes a second")
    parser.add_argument("--duration", type=float, default=10, help="seconds of writes")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes")
    parser.add_argument("--learners", type=int, default=20, help="learners written to")
    parser.add_argument("--drain", type=float, default=3, help="seconds to wait after writes")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of the load-generator processes (e.g. 10: they yield the cores to "
        "the server, as clients on other machines would)",
    )
    parser.add_argument(
        "--apart",
        action="store_true",
        help="the GraphQL subscribers first, then the /ws/live/ ones, on the same server",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    raise_fd_limit(2 * (args.clients + args.live) + 4096)

    world = World(
        argparse.Namespace(
            redis=False,
            servers=1,
            postgres="",
            layer="pubsub",
            baseline=False,
            users=0,
            learners=args.learners,
            profile="",
        )
    )
    try:
        cohort = world.start()
        port = world.ports[0]
        token = tokens_for(port, ["mentor"])[0]
        snapshot = requests.get(
            f"http://127.0.0.1:{port}/api/cohorts/{cohort}/snapshot/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        learners = [row["id"] for row in snapshot["learners"]]
        phases = [(args.clients, args.live)]
        if args.apart:
            phases = [(args.clients, 0), (0, args.live)]
        report: dict[str, Any] = {}
        writer = Writer(world.ports, token, cohort, learners)  # knows the cells' versions
        for n_gql, n_live in phases:
            phase = measure(args, world, token, cohort, writer, n_gql, n_live)
            if args.apart:
                kind = "graphql" if n_gql else "live"
                report[kind] = {**phase[kind], "write_p99_ms": phase["write_p99_ms"]}
                report[kind]["server_cpu_s"] = phase["server_cpu_s"]
            else:
                report = phase
    finally:
        world.stop()
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"{key:14} {value}")


if __name__ == "__main__":
    main()
