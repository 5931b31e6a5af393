"""One set of server options (dashboard/serve.py) for every way the server starts."""

from __future__ import annotations

import sys
from pathlib import Path

from uvicorn.main import main as uvicorn_cli

from dashboard import serve

ROOT = Path(__file__).resolve().parents[2]


def _parsed(args: list[str]) -> dict:
    return uvicorn_cli.make_context("uvicorn", args).params


def test_the_command_line_gives_uvicorn_exactly_the_options():
    params = _parsed([serve.APPLICATION, *serve.flags()])
    assert params["app"] == "dashboard.asgi:application"
    for name, value in serve.OPTIONS.items():
        assert params[name] == value, name
    # What the realtime path relies on (docs/realtime.md, docs/performance.md).
    assert params["ws"] == "websockets-sansio"
    assert params["ws_max_size"] == 65536  # the spec's 64 KiB: 1009 above
    assert params["ws_per_message_deflate"] is False
    assert params["ws_ping_interval"] == 0  # clients ping; silent sockets close at 60 s
    assert params["access_log"] is False


def test_options_given_after_ours_win():
    command = serve.command("--port", "8123", "--ws-max-size", "1024", "--access-log")
    assert command[:4] == [sys.executable, "-m", "uvicorn", serve.APPLICATION]
    params = _parsed(command[3:])
    assert params["port"] == 8123
    assert params["ws_max_size"] == 1024
    assert params["access_log"] is True
    assert params["loop"] == "uvloop"


def test_make_run_and_the_container_serve_through_it():
    makefile = (ROOT / "Makefile").read_text()
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    assert "$(BIN)/python -m dashboard.serve --host $(HOST) --port $(PORT)" in makefile
    assert "exec python -m dashboard.serve" in entrypoint
    assert "uvicorn dashboard.asgi" not in makefile + entrypoint
