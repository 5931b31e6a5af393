"""How the dashboard is served: uvicorn, with the options the realtime path was measured on.

Every way of starting the server goes through here, so none of them drifts from the
others: ``make run`` and the container's entrypoint run this module, the tests' and the
benchmarks' server processes take ``command()``, and the in-process test server takes
``OPTIONS`` as they are::

    python -m dashboard.serve --host 127.0.0.1 --port 8000 [any other uvicorn option]

Options given on that command line come after these, so they win (uvicorn keeps the
last value of an option given twice).
"""

from __future__ import annotations

import sys
from typing import Any

APPLICATION = "dashboard.asgi:application"

#: uvicorn's options, as the keyword arguments of ``uvicorn.Config``; ``flags()`` turns
#: them into its command line. Why each one: docs/performance.md (The fan-out) and
#: docs/realtime.md.
OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    # The WebSocket implementation measured fastest on the fan-out path; the hub writes
    # pre-encoded frames straight to its transports (realtime/fanout.py, realtime/connection.py).
    "ws": "websockets-sansio",
    # The spec's 64 KiB frame limit: a larger frame closes the socket with 1009.
    "ws_max_size": 65536,
    # Deflate would take every socket off the hub's direct-write path.
    "ws_per_message_deflate": False,
    # No protocol pings from the server: clients ping every 25 s and the hub closes a
    # socket silent for 60 s, so a vanished peer goes anyway, without a timer per socket.
    "ws_ping_interval": 0,
    # The hub starts and stops with the application (dashboard/asgi.py).
    "lifespan": "on",
    # The request-id middleware logs each request, with its id.
    "access_log": False,
}


def flags(options: dict[str, Any] = OPTIONS) -> list[str]:
    """``options`` as uvicorn's command-line flags."""
    args: list[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name == "access_log":  # the one on/off switch: --access-log / --no-access-log
            args.append(flag if value else "--no-access-log")
        else:
            args += [flag, str(value).lower() if isinstance(value, bool) else str(value)]
    return args


def command(*extra: str, app: str = APPLICATION, python: str = sys.executable) -> list[str]:
    """The server's command line for a subprocess; ``extra`` options come last and win."""
    return [python, "-m", "uvicorn", app, *flags(), *extra]


def main(argv: list[str] | None = None) -> None:
    """Run uvicorn in this process with ``OPTIONS`` and then ``argv``."""
    from uvicorn.main import main as uvicorn_cli

    args = [APPLICATION, *flags(), *(sys.argv[1:] if argv is None else argv)]
    uvicorn_cli.main(args=args, prog_name="python -m dashboard.serve")


if __name__ == "__main__":
    main()
