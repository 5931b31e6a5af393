"""``bench/initial_load.py`` still runs: one round against the browser suite's server.

The other bench scripts have their smoke runs in tests/bench/test_bench_smoke.py; this one
drives Debian's Chromium through Playwright, so it runs here, in ``make test-e2e``, on the
server the browser tests already start (it runs first: the server is as seeded).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, LiveServer

pytestmark = pytest.mark.e2e


def test_the_initial_load_bench_runs_and_prints_its_table(dashboard_server: LiveServer) -> None:
    url = dashboard_server.url
    done = subprocess.run(
        [sys.executable, "bench/initial_load.py", "--url", url, "--rounds", "1", "--settle", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # | server | API answers | API bytes | sign-in to Live, ms | CLS | all shifts |
    row = rf"^\| {re.escape(url)} \| \d+ \| [\d.]+ KB \| \d+ / \d+ \| [\d.]+ / [\d.]+ \|"
    assert re.search(row, done.stdout, re.MULTILINE), done.stdout
