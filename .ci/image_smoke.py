"""Smoke-test the built image: every role, on the host's PostgreSQL and a private Redis.

Run by ``.ci/image`` (which builds the image first) with the project's virtualenv::

    .venv/bin/python .ci/image_smoke.py --image cohort-dashboard:ci

It creates a database (and drops only that one), starts a private ``redis-server`` on a
free port, then runs the image's roles with podman on the host network: ``migrate``,
``seed_demo --force``, ``web`` (healthy by the image's own HEALTHCHECK), ``worker``,
``beat`` and ``metrics``, checks what each must do, and stops each with SIGTERM. Every
wait has a deadline; everything it started is removed at the end, pass or fail.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect as ws_connect

STOP_TIMEOUT = 20  # seconds podman stop waits for a role before SIGKILL
METRICS_TOKEN = secrets.token_urlsafe(24)


class SmokeFailure(AssertionError):
    pass


def step(message: str) -> None:
    print(f"   - {message}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(probe: Callable[[], bool], what: str, timeout: float, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if probe():
                return
        time.sleep(every)
    raise SmokeFailure(f"{what}: not within {timeout:.0f} s")


def podman(
    *args: str, timeout: float = 120, check_rc: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check_rc and result.returncode != 0:
        raise SmokeFailure(
            f"podman {' '.join(args[:3])}: {result.returncode}\n{result.stderr[-2000:]}"
        )
    return result


# --------------------------------------------------------------------------------------
# What the run borrows: a database, a redis-server, a directory
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(host: str) -> Iterator[str]:
    """Create a database for this run and drop it after (only the one created here)."""
    name = f"dash_image_smoke_{os.getpid()}_{secrets.token_hex(3)}"
    admin = f"postgresql://postgres@{host}:5432/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@{host}:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [name],
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}"
        wait_until(lambda: bool(redis.Redis.from_url(url).ping()), "redis-server", 10, 0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


# --------------------------------------------------------------------------------------
# The roles
# --------------------------------------------------------------------------------------


class Roles:
    """Containers of one run, named ``smoke-<run>-<role>``; all removed by ``remove_all``."""

    def __init__(self, image: str, env_file: Path, metrics_dir: Path) -> None:
        self.image = image
        self.env_file = env_file
        self.metrics_dir = metrics_dir
        self.run_id = secrets.token_hex(3)
        self.names: list[str] = []

    def _args(self, name: str) -> list[str]:
        return [
            "--name",
            name,
            "--network",
            "host",
            "--env-file",
            str(self.env_file),
            # Every role writes its metrics files here: web's /metrics adds them all up.
            "-v",
            f"{self.metrics_dir}:/tmp/prometheus-metrics",
        ]

    def once(self, role: str, *args: str, timeout: float = 300) -> str:
        name = f"smoke-{self.run_id}-{role}"
        self.names.append(name)
        result = podman("run", "--rm", *self._args(name), self.image, role, *args, timeout=timeout)
        return result.stdout + result.stderr

    def start(self, role: str) -> str:
        name = f"smoke-{self.run_id}-{role}"
        self.names.append(name)
        podman("run", "-d", *self._args(name), self.image, role)
        return name

    def logs(self, name: str) -> str:
        result = podman("logs", name, check_rc=False, timeout=30)
        return result.stdout + result.stderr

    def stop(self, name: str) -> None:
        """SIGTERM; the role must exit by itself (code 0) well before podman's SIGKILL."""
        started = time.monotonic()
        podman("stop", "-t", str(STOP_TIMEOUT), name, timeout=STOP_TIMEOUT + 30)
        took = time.monotonic() - started
        state = json.loads(podman("inspect", name, "--format", "{{json .State}}").stdout)
        check(
            state["ExitCode"] == 0 and took < STOP_TIMEOUT - 1,
            f"{name} did not stop cleanly on SIGTERM (exit {state['ExitCode']} after "
            f"{took:.1f} s)\n{self.logs(name)[-3000:]}",
        )
        step(f"{name.rsplit('-', 1)[1]}: SIGTERM -> exit 0 in {took:.1f} s")

    def remove_all(self) -> None:
        for name in self.names:
            podman("rm", "-f", "-t", "2", name, check_rc=False, timeout=60)


# --------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------


class Web:
    """HTTP to the web role as the proxy would send it (HTTPS said by X-Forwarded-Proto)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.origin = f"https://127.0.0.1:{port}"
        self.http = requests.Session()
        self.http.headers["X-Forwarded-Proto"] = "https"
        self.cookies: dict[str, str] = {}

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # Cookies are Secure: sent by hand, as a browser would over the proxy's HTTPS.
        headers = {**kwargs.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(
            method, self.base + path, headers=headers, timeout=10, allow_redirects=False, **kwargs
        )
        self.cookies.update(response.cookies.get_dict())
        return response

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        response = self.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        check(response.status_code == 200, f"/metrics answered {response.status_code}")
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }


def metric(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def check_web(roles: Roles, name: str, web: Web) -> None:
    health = podman("inspect", name, "--format", "{{json .Config.Healthcheck}}").stdout
    check("healthcheck" in health, f"the image has no HEALTHCHECK: {health}")
    wait_until(
        lambda: podman("healthcheck", "run", name, check_rc=False, timeout=30).returncode == 0,
        "web healthy by the image's HEALTHCHECK",
        120,
        1,
    )
    step("web: healthy by its own HEALTHCHECK (podman healthcheck run)")

    uid = podman("exec", name, "python", "-c", "import os; print(os.stat('/proc/1').st_uid)")
    check(uid.stdout.strip() == "10001", f"web runs as uid {uid.stdout.strip()}, not 10001")
    readonly = podman("exec", name, "sh", "-c", "touch /app/x", check_rc=False)
    check(readonly.returncode != 0, "the app directory is writable by the app user")
    step("web: runs as uid 10001; /app is read-only to it")

    ready = web.get("/readyz")
    check(ready.status_code == 200, f"/readyz answered {ready.status_code}: {ready.text}")
    check(ready.json()["checks"] == {"database": "ok", "redis": "ok"}, ready.text)
    step("web: /readyz 200 (database ok, redis ok)")

    # A form login, with the CSRF token of the form.
    form = web.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    check(form.status_code == 200 and token is not None, f"/login/ answered {form.status_code}")
    assert token is not None
    login = web.request(
        "POST",
        "/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": "mentor", "password": "mentor"},
        headers={"Origin": web.origin, "Referer": web.origin + "/login/"},
    )
    check(
        login.status_code == 302 and login.headers["Location"] == "/", f"login: {login.status_code}"
    )
    page = web.get("/")
    check(page.status_code == 200 and "sessionid" in web.cookies, f"the page: {page.status_code}")
    step("web: form login (CSRF) then the dashboard page 200")

    # The page's assets by their hashed names, as collectstatic wrote them into the image.
    manifest = json.loads(podman("exec", name, "cat", "/app/staticfiles/staticfiles.json").stdout)
    hashed = "/static/" + manifest["paths"]["app/styles.css"]
    check(re.search(r"\.[0-9a-f]{12}\.css$", hashed) is not None, f"not a hashed name: {hashed}")
    static = web.get(hashed, headers={"Accept-Encoding": "gzip"})
    check(static.status_code == 200, f"{hashed}: {static.status_code}")
    cache_control = static.headers.get("Cache-Control", "")
    check("immutable" in cache_control, f"{hashed}: Cache-Control {cache_control}")
    step(f"web: {hashed} 200 from WhiteNoise ({cache_control})")


def check_live_event(web: Web, port: int) -> None:
    """Token, socket auth, subscribe, then a REST write arrives as a live event."""
    token = web.http.post(
        web.base + "/api/auth/token/", json={"username": "mentor", "password": "mentor"}, timeout=10
    )
    check(token.status_code == 200, f"token: {token.status_code} {token.text}")
    bearer = {"Authorization": f"Bearer {token.json()['access']}"}
    cohorts = web.http.get(web.base + "/api/cohorts/", headers=bearer, timeout=10).json()
    cohort = (cohorts["results"] if isinstance(cohorts, dict) else cohorts)[0]["id"]
    with ws_connect(f"ws://127.0.0.1:{port}/ws/live/", open_timeout=10, close_timeout=5) as ws:
        ws.send(json.dumps({"type": "auth", "token": token.json()["access"]}))
        welcome = json.loads(ws.recv(timeout=10))
        check(welcome["type"] == "welcome", f"auth: {welcome}")
        ws.send(json.dumps({"type": "subscribe", "topic": f"cohort:{cohort}", "ref": 1}))
        frame = json.loads(ws.recv(timeout=10))
        while frame["type"] == "presence":
            frame = json.loads(ws.recv(timeout=10))
        check(frame["type"] == "subscribed", f"subscribe: {frame}")
        text = f"smoke {secrets.token_hex(4)}"
        wrote = web.http.post(
            f"{web.base}/api/cohorts/{cohort}/events/1/comments/",
            json={"text": text},
            headers=bearer,
            timeout=10,
        )
        check(wrote.status_code == 201, f"comment: {wrote.status_code} {wrote.text}")
        deadline = time.monotonic() + 10
        while True:
            check(time.monotonic() < deadline, "no live event after the REST write")
            frame = json.loads(ws.recv(timeout=10))
            if frame["type"] == "event" and frame["event"]["data"].get("text") == text:
                break
    step(f"web: /ws/live/ auth + subscribe cohort:{cohort}, the REST comment arrived live")


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="smoke-", dir=args.work))
    metrics_dir = work / "metrics"
    metrics_dir.mkdir()
    metrics_dir.chmod(0o777)  # the roles run as uid 10001
    port = free_port()
    with database(args.pg_host) as database_url, redis_server(work) as redis_url:
        env_file = work / "env"
        env_file.write_text(
            "\n".join(
                [
                    f"SECRET_KEY={secrets.token_urlsafe(50)}",
                    "ALLOWED_HOSTS=127.0.0.1,localhost",
                    f"DATABASE_URL={database_url}",
                    f"REDIS_URL={redis_url}/0",
                    f"CELERY_BROKER_URL={redis_url}/1",
                    "HOST=127.0.0.1",
                    f"PORT={port}",
                    "PERIODIC_JOBS=celery",
                    "PERIODIC_INTERVAL=3",
                    "METRICS_SAMPLER_IN_PROCESS=false",
                    f"METRICS_TOKEN={METRICS_TOKEN}",
                    "CELERY_CONCURRENCY=1",
                ]
            )
            + "\n"
        )
        roles = Roles(args.image, env_file, metrics_dir)
        try:
            out = roles.once("migrate")
            check("Apply" in out or "No migrations" in out, out[-2000:])
            step("migrate: applied")
            out = roles.once("python", "manage.py", "seed_demo", "--force")
            step("seed_demo --force: done")

            web_name = roles.start("web")
            web = Web(port)
            check_web(roles, web_name, web)
            check_live_event(web, port)

            worker = roles.start("worker")
            wait_until(
                lambda: (
                    "pong"
                    in podman(
                        "exec",
                        worker,
                        "celery",
                        "--app",
                        "dashboard.celery",
                        "inspect",
                        "ping",
                        "--timeout",
                        "5",
                        check_rc=False,
                        timeout=30,
                    ).stdout
                ),
                "worker answering celery inspect ping",
                90,
                2,
            )
            step("worker: answers celery inspect ping")
            beat = roles.start("beat")
            wait_until(lambda: "beat: Starting" in roles.logs(beat), "beat starting", 60)
            step("beat: started")
            sampler = roles.start("metrics")
            client = redis.Redis.from_url(f"{redis_url}/0")
            wait_until(
                lambda: client.exists("dash:metrics:cache:latest") == 1,
                "the metrics sampler publishing a sample",
                60,
            )
            step("metrics: the sampler publishes samples")

            # The worker's job runs reach web's /metrics through the shared directory.
            wait_until(
                lambda: (
                    metric(web.metrics(), "dashboard_job_runs_total", job="presence_sweep") >= 1
                ),
                "a job run by the worker in web's /metrics",
                60,
                1,
            )
            samples = web.metrics()
            check(
                metric(samples, "dashboard_http_requests_total", view="login", method="POST") >= 1,
                "no login request counted",
            )
            check(
                metric(samples, "dashboard_events_appended_total", kind="comment.added") >= 1,
                "no comment.added counted",
            )
            check(metric(samples, "dashboard_ws_deliveries_total") >= 1, "no delivery counted")
            check(metric(samples, "dashboard_cache_gets_total") >= 1, "no cache lookup counted")
            unauthorised = web.get("/metrics")
            check(
                unauthorised.status_code == 401,
                f"/metrics without token: {unauthorised.status_code}",
            )
            step(
                "web: /metrics (bearer token) counts requests, events, deliveries, cache, "
                "and the worker's jobs; 401 without the token"
            )

            for name in (sampler, beat, worker, web_name):
                roles.stop(name)
        except BaseException:
            for name in roles.names:
                logs = roles.logs(name)
                if logs:
                    print(
                        f"----- logs of {name} (last 40 lines)\n"
                        + "\n".join(logs.splitlines()[-40:])
                    )
            raise
        finally:
            roles.remove_all()
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="cohort-dashboard:ci")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--work", default=tempfile.gettempdir())
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    started = time.monotonic()
    try:
        run(args)
    except SmokeFailure as exc:
        print(f"== image: smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"== image: smoke test passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
