"""Old code against new, same run: ``bench/fanout.py`` from two checkouts, alternating.

Each workload runs once per code per round (old, new, old, new...), every run with this
checkout's ``bench/fanout.py`` (the client side is the same for both: it is copied into
the old checkout) and the server code of its own checkout. Results are appended to
``--out`` as JSON lines as they come (a cut-off run keeps what it measured); at the end a
Markdown table per configuration is printed, the way docs/performance.md shows it.

    git worktree add /tmp/old 1f7dcf6 && cp realtime/*.so /tmp/old/realtime/
    .venv/bin/python bench/compare_codes.py --old /tmp/old --new . \\
        --postgres postgres://postgres@127.0.0.1:5432/test --rounds 2

A knob's A/B is the same checkout twice with the knob's setting on one side:

    .venv/bin/python bench/compare_codes.py --old . --new . --old-env HEAP_FREEZE=0 \
        --configs memory --workloads 1000x50,5000x5

It is a benchmark, not a test: run it on a quiet machine. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> fanout.py arguments (the realtime issue's targets; durations as in series E)
WORKLOADS: dict[str, list[str]] = {
    "1000x20": ["--clients", "1000", "--rate", "20", "--duration", "15", "--warmup", "3"],
    "1000x50": ["--clients", "1000", "--rate", "50", "--duration", "15", "--warmup", "3"],
    # The REST write's p99 from 1,200 writes instead of 300 (not one of the targets).
    "1000x20long": ["--clients", "1000", "--rate", "20", "--duration", "60", "--warmup", "3"],
    "5000x5": [
        *("--clients", "5000", "--rate", "5", "--duration", "30", "--warmup", "3"),
        *("--workers", "3"),
    ],
    "10000x5/2": [
        *("--clients", "10000", "--rate", "5", "--duration", "30", "--warmup", "3"),
        *("--workers", "4", "--servers", "2"),
    ],
    "20000idle/2": [
        *("--clients", "20000", "--idle", "--workers", "4", "--servers", "2", "--hold", "10")
    ],
    # Not a measurement: the driver's own smoke run (tests/bench/test_bench_smoke.py).
    "smoke": [
        *("--clients", "3", "--rate", "2", "--duration", "1", "--warmup", "0"),
        *("--drain", "2", "--workers", "1", "--users", "1", "--learners", "2"),
    ],
}
TARGETS = [name for name in WORKLOADS if name not in ("smoke", "1000x20long")]

# Two processes need Redis; the embedded configuration has one process only.
ONE_PROCESS = ("1000x20", "1000x50", "1000x20long", "5000x5")


def config_args(config: str, workload: str, postgres: str) -> list[str] | None:
    """Return the extra arguments of ``workload`` on ``config``, None when it has none."""
    two = "--servers" in WORKLOADS[workload]
    if config == "memory":
        return None if two else []
    # production: Redis (channel layer, cache, presence) and PostgreSQL
    return ["--postgres", postgres] + ([] if two else ["--redis"])


def run_one(checkout: Path, args: list[str], timeout: float, env: dict[str, str]) -> dict:
    started = time.time()
    # The load generators yield the cores to the servers, as clients elsewhere would.
    proc = subprocess.run(
        [sys.executable, str(checkout / "bench" / "fanout.py"), *args, "--nice", "10", "--json"],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},  # fanout.py hands its environment to the servers
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr or proc.stdout)[-2000:], "wall_s": time.time() - started}
    report = json.loads(lines[-1])
    report["wall_s"] = round(time.time() - started, 1)
    return report


def cell(report: dict, workload: str) -> str:
    if "error" in report:
        return "error"
    if "idle" in workload:
        kb = "/".join(f"{v:.1f}" for v in report.get("rss_per_conn_kb", []))
        return f"{report.get('connected')} held, {kb} KB each"
    per_s = report.get("deliveries_per_s")
    return (
        f"{report.get('latency_p99_ms')} / {report.get('last_client_p99_ms')} ms, "
        f"REST {report.get('write_p99_ms')} ms, {per_s}/s, "
        f"{report.get('delivered_ratio')} delivered, CPU {report.get('cpu_percent')} %"
    )


def table(results: list[dict]) -> str:
    out = []
    for config in ("production", "memory"):
        rows = [r for r in results if r["config"] == config]
        if not rows:
            continue
        out.append(f"\n{config}: p99 / last-client p99, REST write p99, deliveries/s\n")
        out.append("| workload | round | old | new |")
        out.append("|---|---|---|---|")
        for workload in WORKLOADS:
            for rnd in sorted({r["round"] for r in rows if r["workload"] == workload}):
                pair = {
                    r["code"]: r["report"]
                    for r in rows
                    if r["workload"] == workload and r["round"] == rnd
                }
                old = cell(pair["old"], workload) if "old" in pair else "-"
                new = cell(pair["new"], workload) if "new" in pair else "-"
                out.append(f"| {workload} | {rnd} | {old} | {new} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="checkout of the old code")
    parser.add_argument("--new", type=Path, default=ROOT, help="checkout of the new code")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--configs", default="production,memory")
    parser.add_argument("--workloads", default=",".join(TARGETS))
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("BENCH_TMPDIR", "/tmp")) / "compare_codes.jsonl",
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--table", action="store_true", help="only print --out as tables")
    for side in ("old", "new"):
        parser.add_argument(
            f"--{side}-env",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"environment of the {side} code's servers (a knob's A/B: --old . --new .)",
        )
    args = parser.parse_args()
    envs = {
        side: dict(item.split("=", 1) for item in getattr(args, f"{side}_env"))
        for side in ("old", "new")
    }
    if not args.table:
        if args.old.resolve() != ROOT.resolve():
            shutil.copy(ROOT / "bench" / "fanout.py", args.old / "bench" / "fanout.py")
        for config in args.configs.split(","):
            for workload in args.workloads.split(","):
                extra = config_args(config, workload, args.postgres)
                if extra is None:
                    continue
                for rnd in range(1, args.rounds + 1):
                    for code, checkout in (("old", args.old), ("new", args.new)):
                        report = run_one(
                            checkout, WORKLOADS[workload] + extra, args.timeout, envs[code]
                        )
                        row = {
                            "config": config,
                            "workload": workload,
                            "round": rnd,
                            "code": code,
                            "report": report,
                        }
                        with args.out.open("a") as f:
                            f.write(json.dumps(row) + "\n")
                        print(config, workload, rnd, code, cell(report, workload), flush=True)
    results = [json.loads(line) for line in args.out.read_text().splitlines() if line]
    print(table(results))


if __name__ == "__main__":
    main()
