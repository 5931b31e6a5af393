"""Snapshot latency cached vs uncached at a fixed request rate, and the demo's hit ratio.

    .venv/bin/python bench/snapshot_cache.py compare [--rate 20] [--duration 30] [--redis]
    .venv/bin/python bench/snapshot_cache.py simulate [--rate 5] [--duration 90]
    .venv/bin/python bench/snapshot_cache.py load --base http://127.0.0.1:8000 --rate 20
    .venv/bin/python bench/snapshot_cache.py overhead

``load`` is an open-loop, fixed-rate load generator: request i is due at t0 + i/rate and
is sent then whatever the earlier ones are doing; its latency is measured from when it
was due (so a stalled server shows up in p99 instead of silently slowing the load, the
"coordinated omission" of closed-loop tools). ``compare`` seeds a demo database, serves it
(uvicorn, as ``make run``) cached, then uncached (``bench/nocache_settings.py``), and
optionally cached on Redis, and loads the snapshot of one cohort through each.
``simulate`` serves the demo with the simulator on, loads snapshots of random cohorts
and the cohort list at a fixed rate, then reads the 60 s window of /api/metrics/cache/.

Ports: free ones the OS picks (``--port P`` fixes the servers': compare's cached server on
P, uncached P+1, on Redis P+2), database /tmp/metrics.sqlite3 (the bench's own;
never the repo's; ``BENCH_TMPDIR`` moves it: tests/bench/test_bench_smoke.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout import free_port  # noqa: E402
from dashboard import serve  # noqa: E402  (after the path)

PYTHON = str(ROOT / ".venv" / "bin" / "python")
TMPDIR = os.environ.get("BENCH_TMPDIR", "/tmp")
SQLITE = f"{TMPDIR}/metrics.sqlite3"
SEED_COPY = f"{TMPDIR}/metrics-seeded.sqlite3"
# As `make run`: one uvicorn process (dashboard/serve.py).
UVICORN = serve.command("--log-level", "warning", python=PYTHON)


# --------------------------------------------------------------------------------------
# The fixed-rate load
# --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def fixed_rate(
    base: str, paths: list[str], *, token: str, rate: float, duration: float, seed: int = 1
) -> dict:
    """Request ``paths`` (one picked at random per request) at ``rate`` per second."""
    rng = random.Random(seed)
    total = int(rate * duration)
    latencies: list[float] = []
    service: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30
    ) as client:

        async def one(due: float, path: str) -> None:
            nonlocal errors
            sent = time.perf_counter()
            try:
                response = await client.get(path)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            done = time.perf_counter()
            if ok:
                latencies.append((done - due) * 1000)
                service.append((done - sent) * 1000)
            else:
                errors += 1

        start = time.perf_counter() + 0.1
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due, rng.choice(paths))))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {
        "requests": total,
        "errors": errors,
        "rate": rate,
        "achieved_rate": round(total / elapsed, 2),
        "p50_ms": round(percentile(latencies, 0.50), 2) if latencies else None,
        "p90_ms": round(percentile(latencies, 0.90), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "mean_service_ms": round(statistics.fmean(service), 2) if service else None,
    }


def token_for(base: str, username: str = "mentor") -> str:
    response = httpx.post(
        f"{base}/api/auth/token/", json={"username": username, "password": username}, timeout=10
    )
    response.raise_for_status()
    return response.json()["access"]


# --------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
        "SQLITE_PATH": SQLITE,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": secrets.token_urlsafe(50),  # DEBUG off refuses a weak key
        "LOG_LEVEL": "WARNING",
        "WRITE_THROTTLE": "off",
        "SIMULATE": "0",
        "REDIS_URL": "",
        "PERIODIC_JOBS": "off",
    }
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def seed() -> None:
    """Create the demo database once, then start every run from a copy of it."""
    if not Path(SEED_COPY).exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE}{suffix}").unlink(missing_ok=True)
        env = _env()
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [PYTHON, "manage.py", "seed_demo", "--force"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [PYTHON, "-c", f"import sqlite3; sqlite3.connect('{SQLITE}').execute('VACUUM')"],
            check=True,
        )
        shutil.copy(SQLITE, SEED_COPY)
    for suffix in ("-wal", "-shm"):
        Path(f"{SQLITE}{suffix}").unlink(missing_ok=True)
    shutil.copy(SEED_COPY, SQLITE)


def port_for(args: argparse.Namespace, offset: int) -> int:
    """Return ``--port`` plus ``offset``, or a free port when none was given."""
    return args.port + offset if args.port else free_port()


@contextmanager
def server(port: int, **env: str) -> Iterator[str]:
    proc = subprocess.Popen(
        [*UVICORN, "--port", str(port)],
        cwd=ROOT,
        env=_env(**env),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            # Exited (its port taken, say): said now, not after 30 s of asking another.
            if proc.poll() is not None:
                raise RuntimeError(f"the server on port {port} exited ({proc.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(15)


@contextmanager
def redis_server(port: int) -> Iterator[str]:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def metrics(base: str, token: str) -> dict:
    response = httpx.get(
        f"{base}/api/metrics/cache/?history=0",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["current"]


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------


def snapshot_run(base: str, rate: float, duration: float) -> dict:
    token = token_for(base)
    cohort = httpx.get(
        f"{base}/api/cohorts/", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()[0]["id"]
    path = f"/api/cohorts/{cohort}/snapshot/"
    asyncio.run(fixed_rate(base, [path], token=token, rate=rate, duration=2))  # warm-up
    result = asyncio.run(fixed_rate(base, [path], token=token, rate=rate, duration=duration))
    sample = metrics(base, token)
    family = sample["families"].get("snapshot", {})
    result["snapshot_hit_ratio_60s"] = family.get("hit_ratio")
    result["snapshot_miss_cost_ms"] = family.get("miss_cost_ms")
    result["backend"] = sample["backend"]
    return result


def compare(args: argparse.Namespace) -> None:
    seed()
    runs = {}
    with server(port_for(args, 0)) as base:
        runs["cached (locmem)"] = snapshot_run(base, args.rate, args.duration)
    seed()
    with server(port_for(args, 1), DJANGO_SETTINGS_MODULE="bench.nocache_settings") as base:
        runs["uncached"] = snapshot_run(base, args.rate, args.duration)
    if args.redis:
        seed()
        with redis_server(free_port()) as url, server(port_for(args, 2), REDIS_URL=url) as base:
            pump = subprocess.Popen(
                [PYTHON, "manage.py", "metrics_pump"], cwd=ROOT, env=_env(REDIS_URL=url)
            )
            try:
                runs["cached (redis)"] = snapshot_run(base, args.rate, args.duration)
            finally:
                pump.terminate()
                pump.wait(10)
    print(json.dumps(runs, indent=2))
    print()
    print(f"| snapshot, {args.rate:g} req/s for {args.duration:g} s | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|")
    for name, run in runs.items():
        print(f"| {name} | {run['p50_ms']} | {run['p99_ms']} | {run['max_ms']} |")


def simulate(args: argparse.Namespace) -> None:
    seed()
    with server(port_for(args, 0), SIMULATE="1", SIMULATE_INTERVAL=str(args.interval)) as base:
        token = token_for(base, args.user)
        headers = {"Authorization": f"Bearer {token}"}
        cohorts = [c["id"] for c in httpx.get(f"{base}/api/cohorts/", headers=headers).json()]
        paths = [f"/api/cohorts/{c}/snapshot/" for c in cohorts] + ["/api/cohorts/"]
        load = asyncio.run(
            fixed_rate(base, paths, token=token, rate=args.rate, duration=args.duration)
        )
        sample = metrics(base, token)
    report = {
        "load": load,
        "user": args.user,
        "cohorts": len(cohorts),
        "simulator_interval_s": args.interval,
        "window": sample["window"],
        "families": {
            name: {k: f[k] for k in ("hits", "misses", "hit_ratio", "saved_ms", "miss_cost_ms")}
            for name, f in sample["families"].items()
        },
        "lifetime_hit_ratio": sample["hit_ratio"],
    }
    print(json.dumps(report, indent=2))


def overhead(args: argparse.Namespace) -> None:
    """Time a locmem get raw and through the instrumented wrapper (in this process)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings.test")
    import django

    django.setup()
    from django.core.cache.backends.locmem import LocMemCache

    from dashboard.cache_metrics import InstrumentedCache, MemoryCounterStore, Recorder

    recorder = Recorder(MemoryCounterStore(), autoflush=False)
    inner = {"INNER_BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    wrapped = InstrumentedCache("bench-wrapped", {"OPTIONS": inner}, recorder=recorder)
    raw = LocMemCache("bench-raw", {})
    result = {}
    for name, cache in (("raw", raw), ("instrumented", wrapped)):
        cache.set("snapshot:1", 1)
        best = float("inf")
        for _ in range(5):  # best of 5: the least disturbed by other processes
            started = time.perf_counter()
            for _ in range(args.n):
                cache.get("snapshot:1")
            best = min(best, (time.perf_counter() - started) / args.n * 1e6)
        result[f"{name}_get_us"] = round(best, 2)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compare", help="snapshot latency cached vs uncached")
    p.add_argument("--rate", type=float, default=20)
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--redis", action="store_true", help="also cached on a private Redis")
    p.add_argument("--port", type=int, default=0, help="cached; uncached +1, on Redis +2 (0: free)")
    p.set_defaults(run=compare)
    p = sub.add_parser("simulate", help="the hit ratio with the demo simulator on")
    p.add_argument("--rate", type=float, default=5)
    p.add_argument("--duration", type=float, default=90)
    p.add_argument("--interval", type=float, default=2.0, help="SIMULATE_INTERVAL")
    p.add_argument("--user", default="mentor", help="mentor: one cohort; admin: all of them")
    p.add_argument("--port", type=int, default=0, help="0: a free one")
    p.set_defaults(run=simulate)
    p = sub.add_parser("overhead", help="the instrumentation's cost per cache operation")
    p.add_argument("-n", type=int, default=100_000)
    p.set_defaults(run=overhead)
    p = sub.add_parser("load", help="fixed-rate snapshot load against a running server")
    p.add_argument("--base", default="http://127.0.0.1:8000")
    p.add_argument("--rate", type=float, default=20)
    p.add_argument("--duration", type=float, default=30)
    p.set_defaults(run=lambda a: print(json.dumps(snapshot_run(a.base, a.rate, a.duration))))
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
