"""The mentor's v1.1 reads at a fixed request rate: filters, timeline, history, and the CSV.

    .venv/bin/python bench/mentor_reads.py                       # 20 req/s, 30 s per run
    .venv/bin/python bench/mentor_reads.py --rate 20 --duration 60 --big 400
    .venv/bin/python bench/mentor_reads.py --rate 5 --duration 2 --big 40   # a smoke run

Seeds its own SQLite database (the demo, plus a cohort of ``--big`` learners on the same
program, each with a few progress changes so timelines and histories have something to
read), serves it as ``make run`` does (one uvicorn process, the local-memory cache), and
for the demo cohort and the big one loads each family at ``--rate`` requests a second,
open loop (``bench/snapshot_cache.py``'s ``fixed_rate``: latency counted from when each
request was due): the learners list with a random filter, a random learner's timeline, a
random cell's history. Then times the big cohort's ``export.csv`` (first byte to last).
Prints one JSON object. Targets (issue 19): p99 <= 50 ms at 20 req/s; CSV < 1 s.

Database /tmp/mentor-reads.sqlite3 (the bench's own; ``BENCH_TMPDIR`` moves it), port 8410
unless ``--port``.
It is a benchmark, not a test: run it on a quiet machine. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.snapshot_cache import PYTHON, _env, fixed_rate, server, token_for  # noqa: E402

SQLITE = os.environ.get("BENCH_TMPDIR", "/tmp") + "/mentor-reads.sqlite3"

# Run with manage.py shell: a cohort of BIG learners with 3 progress changes each.
BIG_COHORT = """
import itertools
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
from dashboard.models import Cohort, Program, Progress
from dashboard.services.cohorts import learner_add, mentor_add
from dashboard.services.progress import progress_update

program = Program.objects.order_by("id").first()
start = timezone.localdate() - timedelta(weeks=5)
cohort = Cohort.objects.create(program=program, name="Bench {big}", start_date=start,
                               end_date=start + timedelta(weeks=16))
mentor = User.objects.get(username="mentor")
mentor_add(cohort=cohort, user=mentor)
slugs = list(program.milestones.order_by("order").values_list("slug", flat=True))[:3]
for i in range({big}):
    user = User.objects.create_user(f"bench{{i}}", password="x", first_name=f"Bench{{i}}",
                                    last_name="Élève")
    learner = learner_add(actor=mentor, cohort=cohort, user=user)
    for slug, status in zip(slugs, ["completed", "submitted", "in_progress"]):
        version = Progress.objects.get(learner=learner, milestone__slug=slug).version
        progress_update(actor=mentor, cohort_id=cohort.pk, learner_id=learner.pk,
                        milestone_slug=slug, version=version, status=status,
                        **({{"score": 80}} if status == "completed" else {{}}))
print(cohort.pk)
"""

FILTERS = [
    "",
    "?at_risk=true",
    "?at_risk=false",
    "?overdue=true",
    "?milestone=python&status=completed",
    "?search=ele",
    "?overdue=false&search=bench1",
]


def seed(big: int) -> int:
    """Create the database from scratch; return the big cohort's id."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SQLITE}{suffix}").unlink(missing_ok=True)
    env = _env(SQLITE_PATH=SQLITE)
    run = {"cwd": ROOT, "env": env, "check": True}
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], **run)  # type: ignore[call-overload]
    subprocess.run([PYTHON, "manage.py", "seed_demo", "--force"], capture_output=True, **run)  # type: ignore[call-overload]
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", BIG_COHORT.format(big=big)],
        capture_output=True,
        text=True,
        **run,  # type: ignore[call-overload]
    )
    return int(out.stdout.strip().splitlines()[-1])


def paths_for(base: str, token: str, cohort_id: int) -> dict[str, list[str]]:
    """Return the request paths of each family for the cohort."""
    snapshot = httpx.get(
        f"{base}/api/cohorts/{cohort_id}/snapshot/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    learners = [row["id"] for row in snapshot["learners"]]
    slugs = [m["slug"] for m in snapshot["milestones"]]
    rng = random.Random(cohort_id)
    prefix = f"/api/cohorts/{cohort_id}"
    return {
        "filters": [f"{prefix}/learners/{query}" for query in FILTERS],
        "timeline": [f"{prefix}/learners/{i}/timeline/" for i in rng.sample(learners, 50)]
        if len(learners) >= 50
        else [f"{prefix}/learners/{i}/timeline/" for i in learners],
        "history": [
            f"{prefix}/progress/{rng.choice(learners)}/{rng.choice(slugs[:4])}/history/"
            for _ in range(100)
        ],
    }


def csv_time(base: str, token: str, cohort_id: int, runs: int = 5) -> dict:
    timings = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        with httpx.stream(
            "GET",
            f"{base}/api/cohorts/{cohort_id}/export.csv",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as response:
            response.raise_for_status()
            size = sum(len(chunk) for chunk in response.iter_bytes())
        timings.append((time.perf_counter() - started) * 1000)
    return {"bytes": size, "first_ms": round(timings[0], 1), "max_ms": round(max(timings), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--big", type=int, default=400, help="learners of the big cohort")
    parser.add_argument("--port", type=int, default=8410)
    args = parser.parse_args()

    big_cohort = seed(args.big)
    results: dict[str, object] = {"rate": args.rate, "duration": args.duration, "big": args.big}
    with server(args.port, SQLITE_PATH=SQLITE) as base:
        token = token_for(base)
        demo_cohort = 1
        for label, cohort_id in (("demo", demo_cohort), (f"big{args.big}", big_cohort)):
            for family, paths in paths_for(base, token, cohort_id).items():
                asyncio.run(fixed_rate(base, paths, token=token, rate=args.rate, duration=1))
                results[f"{label}.{family}"] = asyncio.run(
                    fixed_rate(base, paths, token=token, rate=args.rate, duration=args.duration)
                )
        results[f"big{args.big}.export_csv"] = csv_time(base, token, big_cohort)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
