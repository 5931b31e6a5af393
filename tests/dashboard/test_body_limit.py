"""Request bodies over the limit are refused with 413 before they are read, declared or
chunked; a chunked body under it is read (dashboard/http.py, docs/security.md)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import free_port, uvicorn_command

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, int]]:
    tmp = tmp_path_factory.mktemp("body-limit")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(SQLITE_PATH=str(tmp / "db.sqlite3"), SIMULATE="0", SECRET_KEY_FILE=str(tmp / "key"))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = free_port()
    log = open(tmp / "server.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(uvicorn_command(port), cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read()
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def exchange(
    address: tuple[str, int], head: str, body_parts: list[bytes]
) -> tuple[int, dict, float]:
    """Send a request head and body parts on a raw socket; return the status, the JSON
    body and how long the answer took after the head was sent."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(head.encode())
        started = time.monotonic()
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the rest was sent: the point
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        elapsed = time.monotonic() - started
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        status = int(head_bytes.split()[1])
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in head_bytes.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, json.loads(rest[:length]), elapsed


def post_head(port: int, extra: str) -> str:
    return (
        "POST /api/auth/token/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"{extra}\r\n"
    )


def test_a_huge_declared_body_is_refused_before_it_is_sent(server):
    # 200 MB declared, nothing sent: only an answer before reading can arrive.
    status, body, elapsed = exchange(
        server, post_head(server[1], "Content-Length: 200000000\r\n"), []
    )
    assert status == 413
    assert body["error"]["code"] == "too_large"
    assert elapsed < 5


def chunked(data: bytes, size: int = 8192) -> list[bytes]:
    parts = [
        b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size])
        for i in range(0, len(data), size)
    ]
    return [*parts, b"0\r\n\r\n"]


def test_a_chunked_body_over_the_limit_is_413(server):
    data = json.dumps({"username": "x" * (LIMIT * 2), "password": "p"}).encode()
    status, body, _ = exchange(
        server, post_head(server[1], "Transfer-Encoding: chunked\r\n"), chunked(data)
    )
    assert status == 413
    assert body["error"]["code"] == "too_large"


def test_a_chunked_body_under_the_limit_is_read(server):
    data = json.dumps({"username": "nobody", "password": "wrong"}).encode()
    status, body, _ = exchange(
        server, post_head(server[1], "Transfer-Encoding: chunked\r\n"), chunked(data, 10)
    )
    # Read and checked as credentials, not taken for an empty body ("field required").
    assert status == 401, body
    assert body["error"]["code"] == "authentication_failed"


def test_a_body_at_the_limit_is_read(server):
    data = json.dumps({"username": "n", "password": "p" * (LIMIT - 40)}).encode()
    assert len(data) <= LIMIT
    head = post_head(server[1], f"Content-Length: {len(data)}\r\n")
    status, body, _ = exchange(server, head, [data])
    assert status in {400, 401}, body
