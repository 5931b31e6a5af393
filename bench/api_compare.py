"""REST against GraphQL on one server: the same three jobs through each door.

(a) the dashboard's initial load: ``GET /api/cohorts/{id}/snapshot/`` against the
    equivalent GraphQL cohort query (every field the snapshot has);
(b) a narrow read a mentor or a bot makes: names and risk reasons of the at-risk
    learners (REST has only the snapshot for it; GraphQL asks for two fields);
(c) a progress write: ``PATCH .../progress/...`` against ``updateProgress``.

For each: bytes on the wire (response body; request body for writes), SQL queries per
request (counted in this process with Django's test client on the same database and
code), server CPU per request (the server process's /proc time over sequential
requests), and p50/p99 latency at a fixed open-loop rate (measured from when each
request was due). Reads run on a warm cache (no writes meanwhile): both doors read the
same cached snapshot bundle.

    .venv/bin/python bench/api_compare.py --learners 40 --rate 10 --duration 20
    .venv/bin/python bench/api_compare.py --learners 400 --rate 10 --duration 20 --json

It is a benchmark, not a test: run it on a quiet machine. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fanout import World, pct, proc_stats, tokens_for

FULL_QUERY = """query($c: ID!) { cohort(id: $c) {
  id name program startDate endDate seq
  milestones { slug title order week dueDate }
  learners { id name atRisk riskReasons progress { milestone status score version updatedAt } }
  stats { completion onTrack atRisk
          byMilestone { milestone notStarted inProgress submitted completed } }
  feed { seq kind at actor { id name } data kudos comments }
  presence { user { id name } role since } } }"""
NARROW_QUERY = "query($c: ID!) { cohort(id: $c) { learners(atRisk: true) { name riskReasons } } }"
WRITE_MUTATION = """mutation($c: ID!, $l: ID!, $m: String!, $s: ProgressStatus, $v: Int!) {
  updateProgress(cohort: $c, learner: $l, milestone: $m, status: $s, version: $v) {
    status version seq } }"""


class Doors:
    """The requests of each job through each door, against one server."""

    def __init__(self, port: int, token: str, cohort: int, learners: list[int]) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.cohort = cohort
        self.headers = {"Authorization": f"Bearer {token}"}
        self.cells = [(lid, slug) for lid in learners for slug in ("python", "django", "docker")]
        self.versions = dict.fromkeys(self.cells, 1)
        self.status = dict.fromkeys(self.cells, "not_started")
        self.locks = {cell: threading.Lock() for cell in self.cells}
        self.next_cell = 0
        self.pick = threading.Lock()
        self.local = threading.local()

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            session.headers.update(self.headers)
        return session

    # Reads -------------------------------------------------------------------------------

    def rest_snapshot(self) -> requests.Response:
        return self.session().get(f"{self.base}/api/cohorts/{self.cohort}/snapshot/", timeout=30)

    def graphql(self, query: str, variables: dict) -> requests.Response:
        return self.session().post(
            f"{self.base}/graphql/", json={"query": query, "variables": variables}, timeout=30
        )

    def gql_full(self) -> requests.Response:
        return self.graphql(FULL_QUERY, {"c": self.cohort})

    def gql_narrow(self) -> requests.Response:
        return self.graphql(NARROW_QUERY, {"c": self.cohort})

    # Writes: each takes a cell no other write holds, and toggles it ----------------------

    def _cell(self) -> tuple[int, str]:
        with self.pick:
            cell = self.cells[self.next_cell % len(self.cells)]
            self.next_cell += 1
        return cell

    def _write(
        self, send: Callable[[tuple[int, str], str, int], requests.Response]
    ) -> requests.Response:
        cell = self._cell()
        with self.locks[cell]:
            new = "in_progress" if self.status[cell] != "in_progress" else "submitted"
            response = send(cell, new, self.versions[cell])
            body = response.json()
            result = body.get("data", {}).get("updateProgress") if "data" in body else body
            if response.status_code == 200 and result:
                self.versions[cell] = result["version"]
                self.status[cell] = result["status"].lower()
            return response

    def rest_write(self) -> requests.Response:
        def send(cell: tuple[int, str], status: str, version: int) -> requests.Response:
            url = f"{self.base}/api/cohorts/{self.cohort}/progress/{cell[0]}/{cell[1]}/"
            return self.session().patch(
                url, json={"status": status, "version": version}, timeout=30
            )

        return self._write(send)

    def gql_write(self) -> requests.Response:
        def send(cell: tuple[int, str], status: str, version: int) -> requests.Response:
            variables = {
                "c": self.cohort,
                "l": cell[0],
                "m": cell[1],
                "s": status.upper(),
                "v": version,
            }
            return self.graphql(WRITE_MUTATION, variables)

        return self._write(send)


def _ok(response: requests.Response) -> bool:
    if response.status_code != 200:
        return False
    body = response.json()
    return not (isinstance(body, dict) and body.get("errors"))


def cpu_per_request(pid: int, call: Callable[[], requests.Response], count: int) -> float:
    """Return the server's CPU milliseconds per request over ``count`` sequential calls."""
    before, _ = proc_stats(pid)
    for _ in range(count):
        assert _ok(call())
    after, _ = proc_stats(pid)
    return (after - before) * 1000 / count


def open_loop(call: Callable[[], requests.Response], rate: float, duration: float) -> dict:
    """Send ``call`` at ``rate`` a second; latency counts from when each was due."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one(due: float) -> None:
        nonlocal errors
        ok = _ok(call())
        with lock:
            if ok:
                latencies.append(time.monotonic() - due)
            else:
                errors += 1

    total = max(1, int(rate * duration))
    started = time.monotonic()
    with ThreadPoolExecutor(max(8, int(rate))) as pool:
        for i in range(total):
            due = started + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, due)
    return {
        "p50_ms": round(pct(latencies, 0.5) * 1000, 2),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 2),
        "errors": errors,
    }


def sql_queries(env: dict, cohort: int, token: str, learner: int) -> dict[str, int]:
    """Count each request's SQL queries in this process (same code, same database)."""
    os.environ.update({k: v for k, v in env.items() if k in ("SQLITE_PATH", "DATABASE_URL")})
    os.environ.update(DJANGO_SETTINGS_MODULE="dashboard.settings.base", WRITE_THROTTLE="off")
    os.environ.setdefault("SECRET_KEY", env.get("SECRET_KEY", ""))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    gql = "/graphql/"

    def post(query: str, variables: dict) -> object:
        body = json.dumps({"query": query, "variables": variables})
        return client.post(gql, body, content_type="application/json")

    calls: dict[str, Callable[[], object]] = {
        "rest_snapshot": lambda: client.get(f"/api/cohorts/{cohort}/snapshot/"),
        "graphql_full": lambda: post(FULL_QUERY, {"c": cohort}),
        "graphql_narrow": lambda: post(NARROW_QUERY, {"c": cohort}),
        "rest_write": lambda: client.patch(
            f"/api/cohorts/{cohort}/progress/{learner}/docker/",
            json.dumps({"status": "in_progress", "version": 1}),
            content_type="application/json",
        ),
        "graphql_write": lambda: post(
            WRITE_MUTATION, {"c": cohort, "l": learner, "m": "docker", "s": "SUBMITTED", "v": 2}
        ),
    }
    out = {}
    for name, call in calls.items():
        if not name.endswith("write"):
            call()  # warm: the cache filled, as in the timed runs
        with CaptureQueriesContext(connection) as ctx:
            response = call()
        assert response.status_code == 200, (name, response.content[:300])  # type: ignore[attr-defined]
        out[name] = len(ctx.captured_queries)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=40)
    parser.add_argument("--rate", type=float, default=10, help="requests a second, each job")
    parser.add_argument("--duration", type=float, default=20, help="seconds per job and door")
    parser.add_argument("--cpu-requests", type=int, default=200, help="sequential, for CPU")
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
            users=0,
            learners=args.learners,
            profile="",
        )
    )
    try:
        cohort = world.start()
        port, pid = world.ports[0], world.servers[0].pid
        token = tokens_for(port, ["mentor"])[0]
        snapshot = requests.get(
            f"http://127.0.0.1:{port}/api/cohorts/{cohort}/snapshot/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        learners = [row["id"] for row in snapshot["learners"]]
        doors = Doors(port, token, cohort, learners[1:])  # learners[0]: the SQL count's
        jobs = {
            "initial_load": {"rest": doors.rest_snapshot, "graphql": doors.gql_full},
            "narrow_read": {"rest": doors.rest_snapshot, "graphql": doors.gql_narrow},
            "progress_write": {"rest": doors.rest_write, "graphql": doors.gql_write},
        }
        report: dict = {"learners": args.learners, "rate": args.rate, "cache": "warm"}
        for job, by_door in jobs.items():
            report[job] = {}
            for door, call in by_door.items():
                response = call()
                assert _ok(response), response.text[:300]
                sent = len(response.request.body or b"")
                report[job][door] = {
                    "response_bytes": len(response.content),
                    "request_bytes": sent,
                    "server_cpu_ms": round(cpu_per_request(pid, call, args.cpu_requests), 3),
                    **open_loop(call, args.rate, args.duration),
                }
        queries = sql_queries(world.env, cohort, token, learners[0])
        report["initial_load"]["rest"]["sql_queries"] = queries["rest_snapshot"]
        report["narrow_read"]["rest"]["sql_queries"] = queries["rest_snapshot"]
        report["initial_load"]["graphql"]["sql_queries"] = queries["graphql_full"]
        report["narrow_read"]["graphql"]["sql_queries"] = queries["graphql_narrow"]
        report["progress_write"]["rest"]["sql_queries"] = queries["rest_write"]
        report["progress_write"]["graphql"]["sql_queries"] = queries["graphql_write"]
    finally:
        world.stop()
    if args.json:
        print(json.dumps(report))
        return
    print(f"learners {report['learners']}, {report['rate']}/s per job, cache {report['cache']}")
    for job in jobs:
        for door, row in report[job].items():
            cells = "  ".join(f"{k}={v}" for k, v in row.items())
            print(f"{job:15} {door:8} {cells}")


if __name__ == "__main__":
    main()
