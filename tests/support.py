"""What tests that start real processes share: free ports, a private redis-server, and
the smallest world a server needs (a cohort, a mentor, a learner)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

from dashboard import serve

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of one test alone, on a free port, keeping nothing on disk (the
    machine's shared Redis is never touched, let alone flushed)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="test-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


# A minimal world for a server started by a test: run with `manage.py shell -c`; prints
# the cohort id. Logins: mentor/mentor, learner/learner.
WORLD_SCRIPT = """
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
from dashboard.models import Cohort, Milestone, Program
from dashboard.services.cohorts import learner_add, mentor_add
program = Program.objects.create(name="P", slug="p")
Milestone.objects.create(program=program, slug="python", title="Python", order=1, week=1)
start = timezone.localdate() - timedelta(weeks=1)
cohort = Cohort.objects.create(program=program, name="C", start_date=start,
                               end_date=start + timedelta(weeks=10))
mentor = User.objects.create_user("mentor", password="mentor")
learner = User.objects.create_user("learner", password="learner")
mentor_add(cohort=cohort, user=mentor)
learner_add(actor=mentor, cohort=cohort, user=learner)
print(cohort.pk)
"""


@contextlib.contextmanager
def private_postgres(url: str, *, prefix: str = "dash_test") -> Iterator[str]:
    """Create a database of its own on the server ``url`` points at, yield its URL, and
    drop it afterwards: the database ``url`` names is never touched."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def uvicorn_command(port: int) -> list[str]:
    """The server as `make run` starts it (dashboard/serve.py), on 127.0.0.1:``port``."""
    return serve.command("--host", "127.0.0.1", "--port", str(port))
