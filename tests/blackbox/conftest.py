"""Start the real server the way `make run` does, on a free port, for black-box tests.

SQLite: a temporary file. PostgreSQL (DATABASE_URL set): a database this fixture creates
and drops, never the one DATABASE_URL names.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import free_port, private_postgres

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """Run `make run PORT=<free> SIMULATE=0` and yield its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["SQLITE_PATH"] = str(tmp_path_factory.mktemp("blackbox") / "db.sqlite3")
    # Fuzzing writes many times a second; throttling has its own tests.
    env["WRITE_THROTTLE"] = "off"
    cleanup = contextlib.ExitStack()
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = cleanup.enter_context(
            private_postgres(os.environ["DATABASE_URL"], prefix="dash_bb")
        )
    log = open(tmp_path_factory.mktemp("blackbox-log") / "server.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}", "SIMULATE=0"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"make run exited with {proc.returncode}:\n{log.read()[-4000:]}")
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"server did not start in {START_TIMEOUT}s:\n{log.read()[-4000:]}")
            time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()
        cleanup.close()


@pytest.fixture(scope="module")
def tokens(server) -> dict[str, str]:
    """Access tokens of the four demo logins."""
    out = {}
    for name in ("admin", "mentor", "mentor2", "learner"):
        response = requests.post(
            f"{server}/api/auth/token/", json={"username": name, "password": name}, timeout=10
        )
        assert response.status_code == 200, response.text
        out[name] = response.json()["access"]
    return out
