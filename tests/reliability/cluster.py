"""A small production-like cluster on loopback, for fault-injection tests.

Several uvicorn processes of the real application on one private ``redis-server`` and one
database (a PostgreSQL database this harness creates and drops when PostgreSQL answers on
127.0.0.1:5432, else a temporary SQLite file). Servers can be SIGKILLed and restarted on
the same port; Redis can be restarted on the same port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support import (
    WORLD_SCRIPT,
    RedisServer,
    free_port,
    private_postgres,
    uvicorn_command,
)

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("CHAOS_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=2):
            return True
    except Exception:
        return False


@dataclass
class Cluster:
    servers: int = 2
    redis: RedisServer = field(default_factory=RedisServer)
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="chaos-"))
    ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen | None] = field(default_factory=list)
    database_url: str = ""
    _cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    cohort: int = 0
    env: dict[str, str] = field(default_factory=dict)
    settings_module: str = "dashboard.settings.base"
    extra_env: dict[str, str] = field(default_factory=dict)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self.redis.start()
        if _postgres_available():
            self.database_url = self._cleanup.enter_context(
                private_postgres(PG_ADMIN_URL, prefix="dash_chaos")
            )
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "SQLITE_PATH": str(Path(self.workdir) / "db.sqlite3"),
            "REDIS_URL": self.redis.url,
            "SIMULATE": "0",
            # One token stands in for many people: no cap on sockets per user.
            "WS_MAX_SOCKETS_PER_USER": "0",
            "WRITE_THROTTLE": "off",
            "PERIODIC_JOBS": "off",
            "METRICS_SAMPLER_IN_PROCESS": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        if self.database_url:
            self.env["DATABASE_URL"] = self.database_url
        self.env.update(self.extra_env)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(
            [*manage, "migrate", "--noinput", "-v", "0"], env=self.env, check=True, cwd=ROOT
        )
        seeded = subprocess.run(
            [*manage, "shell", "-c", WORLD_SCRIPT],
            env=self.env,
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        self.cohort = int(seeded.stdout.strip().splitlines()[-1])
        self.ports = [free_port() for _ in range(self.servers)]
        self.procs = [None] * self.servers
        for index in range(self.servers):
            self.start_server(index)

    def stop(self) -> None:
        for index in range(len(self.procs)):
            self.kill_server(index, sig=signal.SIGTERM)
        self.redis.stop()
        self._cleanup.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- servers -------------------------------------------------------------------------

    def log_path(self, index: int) -> Path:
        return Path(self.workdir) / f"server-{index}.log"

    def start_server(self, index: int, wait: float = 30.0) -> float:
        """Start server ``index`` on its port; return seconds until /healthz answered."""
        log = open(self.log_path(index), "a")  # noqa: SIM115 - the child owns it
        began = time.monotonic()
        self.procs[index] = subprocess.Popen(
            uvicorn_command(self.ports[index]),
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = began + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base(index)}/healthz", timeout=1).ok:
                    return time.monotonic() - began
            if self.procs[index].poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(
            f"server {index} did not start:\n{self.log_path(index).read_text()[-3000:]}"
        )

    def kill_server(self, index: int, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[index]
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def restart_redis(self) -> None:
        """Kill Redis (SIGKILL, nothing kept) and start a fresh one on the same port."""
        self.redis.stop()
        self.redis.start()

    def base(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def ws(self, index: int) -> str:
        return f"ws://127.0.0.1:{self.ports[index]}/ws/live/"

    def token(self, username: str = "mentor", password: str = "mentor") -> str:
        for index in range(self.servers):
            with contextlib.suppress(requests.RequestException):
                response = requests.post(
                    f"{self.base(index)}/api/auth/token/",
                    json={"username": username, "password": password},
                    timeout=5,
                )
                response.raise_for_status()
                return response.json()["access"]
        raise RuntimeError("no server answered the token request")

    def server_logs(self) -> str:
        return "\n".join(
            self.log_path(i).read_text() for i in range(self.servers) if self.log_path(i).exists()
        )

    def rss_kb(self, index: int) -> int:
        proc = self.procs[index]
        assert proc is not None
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")
