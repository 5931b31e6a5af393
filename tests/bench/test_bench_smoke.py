"""Every script in bench/ still runs: each at its smallest size, as a subprocess.

The benchmarks are not tests, so nothing ran them between figure sessions, and once they
all broke silently (a fixed weak SECRET_KEY the hardened settings refuse). Here each one
starts its own world (database, server) as it does for real, with a couple of clients
for about a second, and must exit 0 and print its figures. The runs go three at a time
in the background (started by the first test), each test waiting for its own, so the file
costs about a third of their sum; each run has its own temp directory and free ports.

Not here: ``bench/initial_load.py`` needs a browser, so it runs in the browser suite
(tests/e2e/test_bench_initial_load.py), and ``snapshot_cache.py load`` is ``compare``'s
load against a server given by URL. ``tutorial_asgi.py`` runs as fanout's ``--baseline``
and ``nocache_settings.py`` as compare's uncached server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 150  # seconds a run may take on a loaded machine (about 10-25 s on a quiet one)
PARALLEL = 3

# The environment of the test run must not leak in: a bench picks its own settings and
# database (DATABASE_URL would send api_compare's SQL count to another database).
ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"}
}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def why(self) -> str:
        out, err = self.stdout[-3000:], self.stderr[-3000:]
        return f"exit {self.returncode}\nstdout:\n{out}\nstderr:\n{err}"


def _run(args: list[str]) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-smoke-") as tmp:
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**ENV, "BENCH_TMPDIR": tmp},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its servers too: killed as a group on a timeout
        )
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return Run(-1, out, f"timed out after {TIMEOUT} s\n{err}")
        return Run(proc.returncode, out, err)


def _last_json(stdout: str) -> dict[str, Any]:
    line = [line for line in stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(line)


def _fields(stdout: str) -> dict[str, str]:
    """``name   value`` lines (fanout's and rest_write's text report) as a dict."""
    return dict(re.findall(r"^(\w+) +(.+)$", stdout, re.MULTILINE))


def check_fanout(out: str) -> None:
    fields = _fields(out)
    assert fields["delivered_ratio"] == "1.0", fields
    assert fields["write_errors"] == "0" and fields["gaps"] == "0", fields
    assert float(fields["latency_p99_ms"]) > 0


def check_fanout_baseline(out: str) -> None:
    report = _last_json(out)
    assert report["delivered_ratio"] == 1.0, report
    assert report["write_errors"] == 0 and report["gaps"] == 0, report


def check_fanout_graphql(out: str) -> None:
    report = _last_json(out)
    assert report["write_errors"] == 0 and report["writes"] > 0, report
    for kind in ("graphql", "live"):
        side = report[kind]
        assert side["delivered"] == side["expected"] > 0, report
        assert side["missing"] == 0 and side["duplicates"] == 0, report


def check_api_compare(out: str) -> None:
    report = _last_json(out)
    for job in ("initial_load", "narrow_read", "progress_write"):
        for door in ("rest", "graphql"):
            row = report[job][door]
            assert row["errors"] == 0 and row["p50_ms"] > 0, (job, door, row)
            assert row["sql_queries"] > 0 and row["response_bytes"] > 0, (job, door, row)


def check_rest_write(out: str) -> None:
    fields = _fields(out)
    assert fields["writes"] == "3", fields
    assert float(fields["latency_p50_ms"]) > 0


def check_mentor_reads(out: str) -> None:
    report = json.loads(out)
    for family in ("filters", "timeline", "history"):
        for cohort in ("demo", "big3"):
            row = report[f"{cohort}.{family}"]
            assert row["requests"] > 0 and row["errors"] == 0, (cohort, family, row)
    assert report["big3.export_csv"]["bytes"] > 0


def check_snapshot_compare(out: str) -> None:
    report = json.loads(out.split("\n\n|")[0])
    assert report["cached (locmem)"]["backend"] == "locmem", report
    assert report["uncached"]["backend"] == "dummycache", report
    for run in report.values():
        assert run["errors"] == 0 and run["p50_ms"] > 0, report
    assert "| cached (locmem) |" in out and "| uncached |" in out


def check_snapshot_simulate(out: str) -> None:
    report = json.loads(out)
    assert report["load"]["errors"] == 0 and report["load"]["requests"] > 0, report
    # Half a second is too short for the 60 s window to hold every family: its shape only.
    assert isinstance(report["families"], dict) and "window" in report, report


def check_snapshot_overhead(out: str) -> None:
    report = _last_json(out)
    assert report["raw_get_us"] > 0 and report["instrumented_get_us"] > 0, report


def check_send_floor(out: str) -> None:
    for way in ("transport.write", "send_many", "send_many x 2 threads"):
        assert re.search(rf"^{re.escape(way)}: 4 sockets, 2 rounds: per write median", out, re.M)


def check_compare_codes(stdout: str) -> None:
    rows = [line for line in stdout.splitlines() if line.startswith("| smoke | 1 |")]
    assert len(rows) == 1, stdout
    assert "error" not in rows[0] and rows[0].count("delivered") == 2, rows[0]


def check_fanout_slice(stdout: str) -> None:
    rows = [line.split(" ", 2) for line in stdout.splitlines() if line.startswith("1 ")]
    assert [code for _, code, _ in rows] == ["old", "new"], stdout
    for _, _, report in rows:
        figures = json.loads(report)
        assert figures["native_sends"] == 4 * 3 and figures["median_ns_per_socket"] > 0


FANOUT = ["--clients", "3", "--rate", "2", "--duration", "1", "--warmup", "0", "--drain", "2"]
FANOUT += ["--workers", "1", "--users", "1", "--learners", "2"]

# name: (arguments, check); ports are filled in when the runs start.
RUNS: dict[str, tuple[Callable[[], list[str]], Callable[[str], None]]] = {
    "fanout": (lambda: ["bench/fanout.py", *FANOUT], check_fanout),
    "fanout_baseline": (
        lambda: ["bench/fanout.py", *FANOUT, "--baseline", "--json"],
        check_fanout_baseline,
    ),
    "compare_codes": (
        lambda: [
            "bench/compare_codes.py",
            *("--old", ".", "--new", ".", "--configs", "memory", "--workloads", "smoke"),
            *("--rounds", "1"),
        ],
        check_compare_codes,
    ),
    "fanout_graphql": (
        lambda: [
            "bench/fanout_graphql.py",
            *("--clients", "2", "--live", "2", "--rate", "2", "--duration", "1"),
            *("--workers", "1", "--drain", "2", "--learners", "2", "--json"),
        ],
        check_fanout_graphql,
    ),
    "api_compare": (
        lambda: [
            "bench/api_compare.py",
            *("--learners", "3", "--rate", "2", "--duration", "0.5", "--cpu-requests", "3"),
            "--json",
        ],
        check_api_compare,
    ),
    "rest_write": (
        lambda: ["bench/rest_write.py", "--writes", "3", "--warmup", "1", "--learners", "2"],
        check_rest_write,
    ),
    "mentor_reads": (
        lambda: [
            "bench/mentor_reads.py",
            *("--rate", "2", "--duration", "0.5", "--big", "3", "--port", str(free_port())),
        ],
        check_mentor_reads,
    ),
    "snapshot_cache_compare": (
        lambda: [
            "bench/snapshot_cache.py",
            # No --port: each server on a free port of its own (port+1 may be another's).
            *("compare", "--rate", "2", "--duration", "0.5"),
        ],
        check_snapshot_compare,
    ),
    "snapshot_cache_simulate": (
        lambda: [
            "bench/snapshot_cache.py",
            *("simulate", "--rate", "2", "--duration", "0.5", "--interval", "0.2"),
        ],
        check_snapshot_simulate,
    ),
    "snapshot_cache_overhead": (
        lambda: ["bench/snapshot_cache.py", "overhead", "-n", "100"],
        check_snapshot_overhead,
    ),
    "fanout_slice": (
        lambda: [
            "bench/fanout_slice.py",
            *("--old", ".", "--rounds", "1", "--sockets", "4", "--fanouts", "3"),
        ],
        check_fanout_slice,
    ),
    "send_floor": (
        lambda: ["bench/send_floor.py", "--sockets", "4", "--rounds", "2"],
        check_send_floor,
    ),
}


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Run]]]:
    """Start the selected runs (PARALLEL at a time); each test waits for its own."""
    selected = {
        item.callspec.params["name"]
        for item in request.session.items
        if isinstance(item, pytest.Function) and hasattr(item, "callspec")
        if item.originalname == "test_bench_script_runs_at_its_smallest_size"
    }
    pool = ThreadPoolExecutor(PARALLEL)
    futures = {
        name: pool.submit(_run, args()) for name, (args, _) in RUNS.items() if name in selected
    }
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("name", list(RUNS))
def test_bench_script_runs_at_its_smallest_size(runs: dict[str, Future[Run]], name: str) -> None:
    run = runs[name].result(timeout=TIMEOUT * len(RUNS))
    assert run.returncode == 0, run.why()
    try:
        RUNS[name][1](run.stdout)
    except (AssertionError, KeyError, IndexError, ValueError) as error:
        raise AssertionError(f"{name}: figures missing or wrong: {error!r}\n{run.why()}") from error


def test_every_bench_script_is_covered() -> None:
    """A new script in bench/ gets a smoke run here (or a reason above why not)."""
    elsewhere = {"__init__", "initial_load", "tutorial_asgi", "nocache_settings"}
    scripts = {path.stem for path in (ROOT / "bench").glob("*.py")} - elsewhere
    covered = {Path(args()[0]).stem for args, _ in RUNS.values()}
    assert scripts <= covered, f"no smoke run for bench/{sorted(scripts - covered)}"
