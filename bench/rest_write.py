"""What one REST progress write costs the server: CPU per PATCH on an otherwise idle server.

Starts the same world as ``bench/fanout.py`` (a temp SQLite file, or a private PostgreSQL
database with ``--postgres``, and one uvicorn process exactly as ``make run`` serves it)
with no WebSocket client, then PATCHes progress cells one after another through the REST
API as the mentor (JWT), and reports the server process's CPU per write (from ``/proc``)
and the writes' latency at the client. Sequential writes on an idle server: this is the
write's own cost, the floor under its latency when a fan-out shares the process.

    .venv/bin/python bench/rest_write.py --writes 1000
    .venv/bin/python bench/rest_write.py --writes 1000 --postgres postgres://postgres@127.0.0.1/test

It is a benchmark, not a test: run it on a quiet machine. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fanout import World, pct, proc_stats, tokens_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=1000, help="measured writes")
    parser.add_argument("--warmup", type=int, default=100, help="writes before measuring")
    parser.add_argument("--learners", type=int, default=50, help="seeded (two cells each)")
    parser.add_argument("--postgres", default="", metavar="URL", help="a private database there")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    world = World(
        argparse.Namespace(
            redis=False,
            servers=1,
            postgres=args.postgres,
            layer="pubsub",
            baseline=False,
            users=2,
            learners=args.learners,
            profile="",
        )
    )
    try:
        cohort_id = world.start()
        port = world.ports[0]
        headers = {"Authorization": f"Bearer {tokens_for(port, ['mentor'])[0]}"}
        base = f"http://127.0.0.1:{port}/api/cohorts/{cohort_id}"
        snapshot = requests.get(f"{base}/snapshot/", headers=headers, timeout=30).json()
        cells = [(row["id"], slug) for row in snapshot["learners"] for slug in ("python", "django")]
        versions = dict.fromkeys(cells, 1)
        status = dict.fromkeys(cells, "not_started")
        session = requests.Session()

        def write(i: int) -> float:
            cell = cells[i % len(cells)]
            new = "in_progress" if status[cell] != "in_progress" else "submitted"
            started = time.perf_counter()
            response = session.patch(
                f"{base}/progress/{cell[0]}/{cell[1]}/",
                json={"status": new, "version": versions[cell]},
                headers=headers,
                timeout=10,
            )
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            body = response.json()
            versions[cell], status[cell] = body["version"], body["status"]
            return elapsed

        for i in range(args.warmup):
            write(i)
        cpu_before, _ = proc_stats(world.servers[0].pid)
        latencies = [write(i) for i in range(args.warmup, args.warmup + args.writes)]
        cpu_after, _ = proc_stats(world.servers[0].pid)
        report = {
            "database": "postgresql" if args.postgres else "sqlite",
            "writes": args.writes,
            "server_cpu_per_write_ms": round((cpu_after - cpu_before) * 1000 / args.writes, 2),
            "latency_p50_ms": round(pct(latencies, 0.5) * 1000, 2),
            "latency_p99_ms": round(pct(latencies, 0.99) * 1000, 2),
        }
    finally:
        world.stop()
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:26} {value}")


if __name__ == "__main__":
    main()
