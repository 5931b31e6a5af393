"""The fan-out's inner loop alone: the Python cost per socket of handing one event to N
sockets that take it natively (``send_many``), without clients, HTTP or a database.

The sockets are real TCP connections over loopback, accepted by uvloop (as uvicorn
serves), their server side wrapped the way the hub sees a uvicorn socket; the client
side is drained between two fan-outs, outside the timed part. Each round times one
fan-out of one event to every socket and reports the median and p90 per socket.

Run it from a checkout to measure that checkout's code; with ``--old DIR`` it runs
itself from both checkouts in turn, alternating, for a same-run comparison (the old
checkout may be the code before the hub was split: its ``Hub._fan_slice`` is timed):

    .venv/bin/python bench/fanout_slice.py --sockets 1000 --fanouts 3000
    .venv/bin/python bench/fanout_slice.py --old /tmp/old --rounds 3

It is a benchmark, not a test: run it on a quiet machine. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class _Server(asyncio.Protocol):
    def __init__(self, accepted: list[asyncio.Transport]) -> None:
        self.accepted = accepted

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.accepted.append(transport)  # type: ignore[arg-type]


class _Proto:
    """What the hub reads of uvicorn's websockets-sansio protocol."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writable = asyncio.Event()
        self.writable.set()
        self.close_sent = False


class _Hub:
    """The few attributes a Connection reads of its hub."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.frames_pushed = 0
        self.native_sends = self.native_short_writes = 0


def _drain(clients: list[socket.socket]) -> int:
    got = 0
    for sock in clients:
        while True:
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            got += len(chunk)
    return got


def _no_send(fds: object, data: bytes) -> list:
    return []


async def _measure(sockets: int, fanouts: int, send: bool = True) -> dict:
    import django

    django.setup()
    import realtime

    loop = asyncio.get_running_loop()
    accepted: list[asyncio.Transport] = []
    server = await loop.create_server(lambda: _Server(accepted), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    clients = []
    for _ in range(sockets):
        client = socket.create_connection(("127.0.0.1", port))
        client.setblocking(False)  # drained without blocking between fan-outs
        clients.append(client)
    while len(accepted) < sockets:
        await asyncio.sleep(0.01)

    hub = _Hub(loop)
    # The package's own directory decides (an editable install may map submodules too).
    split = (Path(realtime.__file__).parent / "fanout.py").exists()
    if split:
        from dashboard.selectors.privacy import Viewer
        from realtime.connection import Connection
        from realtime.fanout import Fanout, _Forms
        from realtime.topics import Subscription, Topic
        from realtime.uvicorn_ws import DirectSocket, plain_socket_fd

        topic = Topic("cohort:1", "cohort.1", 1, loop)
        mentor = Viewer(user_id=1, sees_all=True, learner_id=None)
        subs = []
        for transport in accepted:
            conn = Connection(hub, _noop_send)  # type: ignore[arg-type]
            conn.direct = DirectSocket(_Proto(transport), plain_socket_fd(transport))
            conn.fd = conn.direct.fd
            sub = Subscription(conn, topic, mentor)
            sub.live = True
            subs.append(sub)
        fanout = Fanout(loop)
        if not send:
            import realtime.connection

            realtime.connection.send_many = _no_send

        def one(seq: int, text: str, frame: bytes) -> None:
            fanout._slice(subs, _Forms(topic.name, [(seq, text, frame)], [None]))

    else:  # the code before the split: Hub._fan_slice
        from realtime.hub import Connection, Hub, Subscription, Topic  # type: ignore

        topic = Topic("cohort:1", "cohort.1", 1, loop)
        subs = []
        for transport in accepted:
            conn = Connection(hub, _noop_send)
            conn.direct = _Proto(transport)
            conn.fd = transport.get_extra_info("socket").fileno()
            sub = Subscription(conn, topic)
            sub.live = True
            subs.append(sub)
        if not send:
            import realtime.hub

            realtime.hub.send_many = _no_send

        def one(seq: int, text: str, frame: bytes) -> None:
            Hub._fan_slice(hub, subs, [(seq, text, frame)], frame)  # type: ignore[arg-type]

    if split:
        from realtime.connection import wire
    else:
        from realtime.hub import wire  # type: ignore[no-redef]
    per_socket_ns = []
    for seq in range(1, fanouts + 1):
        text = json.dumps({"type": "event", "topic": "cohort:1", "event": {"seq": seq}})
        frame = wire(text)
        started = time.perf_counter_ns()
        one(seq, text, frame)
        per_socket_ns.append((time.perf_counter_ns() - started) / sockets)
        await asyncio.sleep(0)
        _drain(clients)
    server.close()
    for client in clients:
        client.close()
    per_socket_ns.sort()
    return {
        "sockets": sockets,
        "fanouts": fanouts,
        "median_ns_per_socket": round(statistics.median(per_socket_ns), 1),
        "p90_ns_per_socket": round(per_socket_ns[int(len(per_socket_ns) * 0.9)], 1),
        "native_sends": hub.native_sends if not split else fanout.native_sends,
    }


async def _noop_send(message: dict) -> None:  # pragma: no cover - never reached
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--fanouts", type=int, default=3000)
    parser.add_argument("--old", type=Path, help="also run from this checkout, alternating")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-send", action="store_true", help="the loop alone: send_many does nothing"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.old is None:
        import uvloop

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings.base")
        report = uvloop.run(_measure(args.sockets, args.fanouts, not args.no_send))
        print(json.dumps(report) if args.json else report)
        return
    size = ["--sockets", str(args.sockets), "--fanouts", str(args.fanouts), "--json"]
    size += ["--no-send"] if args.no_send else []
    script = Path(__file__).resolve()
    for rnd in range(1, args.rounds + 1):
        for name, checkout in (("old", args.old.resolve()), ("new", ROOT)):
            env = {**os.environ, "PYTHONPATH": str(checkout), "SIMULATE": "0"}
            out = subprocess.run(
                [sys.executable, str(script), *size],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            ).stdout.splitlines()[-1]
            print(rnd, name, out, flush=True)


if __name__ == "__main__":
    main()
