"""Real-browser fixtures: a live server on a free port and Debian's Chromium via Playwright.

These tests run in their own pytest invocation (``make test-e2e``): sync Playwright does not
mix with pytest-asyncio's loops in one process. The server is the real thing, uvicorn
serving ``dashboard.asgi:application`` on a throwaway SQLite file with the demo data and no
simulator, so every change on the page is one a test made.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# `make screenshots` (UPDATE_SCREENSHOTS=1) refreshes the README's pictures; an ordinary
# run still takes them (the states must render) but leaves the tracked files alone.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "dashboard-screenshots"
)


@dataclass
class LiveServer:
    """A uvicorn process serving the project; ``stop()`` and ``start()`` keep the port."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
        }
        env.update(
            SQLITE_PATH=str(self.workdir / "e2e.sqlite3"),
            SIMULATE="0",
            WRITE_THROTTLE="off",
            DEBUG="1",
            LOG_LEVEL="WARNING",
            DJANGO_SETTINGS_MODULE="dashboard.settings.base",
        )
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr.decode()[-2000:]}")
        return done.stdout.decode()

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def start(self) -> None:
        log = (self.workdir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "dashboard.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--lifespan",
                "on",
                "--ws",
                "websockets-sansio",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {(self.workdir / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not become healthy in 30 s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(scope="session")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(workdir=tmp_path_factory.mktemp("e2e"))
    server.manage("migrate", "--noinput")
    server.manage("seed_demo")
    server.shell("from tests.e2e.world import prepare; prepare()")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Person:
    """One person's browser context and dashboard page, with the errors it logged."""

    username: str
    context: BrowserContext
    page: Page
    errors: list[str]

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """Call the REST API with this person's session (and CSRF token), from the page."""
        result = self.page.evaluate(
            """async ([method, path, body]) => {
                const token = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='));
                const response = await fetch(path, {
                    method,
                    headers: {'Content-Type': 'application/json',
                              'X-CSRFToken': token ? token.split('=')[1] : ''},
                    body: body === null ? undefined : JSON.stringify(body),
                });
                return [response.status, await response.json()];
            }""",
            [method, path, body],
        )
        return int(result[0]), dict(result[1])


# Errors a test expects (a refused write, a server it stopped) are passed in as allowed.
def unexpected(errors: list[str], *allowed: str) -> list[str]:
    return [e for e in errors if not any(a in e for a in allowed)]


@pytest.fixture
def person(dashboard_server: LiveServer, browser: Browser) -> Iterator[Callable[..., Person]]:
    contexts: list[BrowserContext] = []

    def open_as(
        username: str,
        *,
        width: int = 1280,
        height: int = 800,
        before: Callable[[Page], None] | None = None,
        bypass_csp: bool = False,
    ) -> Person:
        # bypass_csp: for a test that injects a script (axe-core) past the page's CSP.
        context = browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=bypass_csp
        )
        contexts.append(context)
        page = context.new_page()
        if before is not None:
            before(page)  # e.g. a fake clock or a WebSocket route, set before the page loads
        page.set_default_timeout(10_000)
        errors: list[str] = []

        def on_console(message: ConsoleMessage) -> None:
            # The login page (not this project's frontend) has no favicon: its 404 is not ours.
            if message.type == "error" and "/login/" not in page.url:
                errors.append(f"console: {message.text} @ {message.location.get('url', '')}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
        page.on(
            "dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss())
        )
        page.goto(f"{dashboard_server.url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", username)
        page.click("button[type=submit]")
        page.wait_for_url(f"{dashboard_server.url}/#cohort=*")
        page.wait_for_selector("button.cell")
        page.wait_for_selector("#connection[data-state=live]")
        return Person(username=username, context=context, page=page, errors=errors)

    yield open_as
    for context in contexts:
        context.close()


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def open_big_cohort(page: Page) -> dict:
    """Switch ``page`` (a mentor2 or staff page) to the 400-learner cohort and wait until
    its every row is drawn and the page is live; return the cohort as /api/cohorts/ has it."""
    from tests.e2e.world import BIG_COHORT, BIG_SIZE

    cohorts = page.evaluate("fetch('/api/cohorts/').then(r => r.json())")
    big = next(c for c in cohorts if c["name"] == BIG_COHORT)
    page.locator("#cohort-picker").select_option(str(big["id"]))
    expect(page.locator("#matrix tbody tr")).to_have_count(BIG_SIZE, timeout=10_000)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return big
