"""The floor of a fan-out here: one write per socket, nothing else.

N loopback TCP connections to a reader process; the server writes one 204-byte
WebSocket frame to each, R rounds, and reports the time per write, three ways in one
run: a uvloop ``transport.write`` per socket (what the hub did before the native path),
one ``send_many`` call over all sockets (``realtime/_sendmany.c``, the GIL released),
and ``send_many`` over two halves from two threads at once (would a second core help?).
On loopback the ``send`` system call also runs the receiving side's TCP path, so this
is what a delivery costs before any Python of the hub (docs/performance.md).

    .venv/bin/python bench/send_floor.py --sockets 1000 --rounds 30
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import selectors
import socket
import sys
import time
from array import array
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def reader(port: int, n: int, seconds: float) -> None:
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key, _ in selector.select(0.5):
            try:
                if not key.fileobj.recv(65536):  # type: ignore[union-attr]
                    return
            except BlockingIOError:
                pass


async def main(sockets: int, rounds: int) -> None:
    from realtime._sendmany import send_many  # built by `make install`

    transports: list[asyncio.Transport] = []

    class Accept(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            transports.append(transport)  # type: ignore[arg-type]

    server = await asyncio.get_running_loop().create_server(Accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    peer = mp.get_context("fork").Process(target=reader, args=(port, sockets, 60))
    peer.start()
    deadline = time.monotonic() + 30
    while len(transports) < sockets and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for transport in transports:
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    frame = b"\x81\x7e\x00\xc8" + b"x" * 200
    fds = array("i", [t.get_extra_info("socket").fileno() for t in transports])
    halves = (fds[: len(fds) // 2], fds[len(fds) // 2 :])
    pool = ThreadPoolExecutor(2)

    def by_transport() -> None:
        for transport in transports:
            transport.write(frame)

    def native() -> None:
        assert not send_many(fds, frame)  # no short writes: the readers keep up

    def native_two_threads() -> None:
        for short in pool.map(lambda half: send_many(half, frame), halves):
            assert not short

    for name, fan_out in (
        ("transport.write", by_transport),
        ("send_many", native),
        ("send_many x 2 threads", native_two_threads),
    ):
        per_write = []
        for _ in range(rounds):
            started = time.perf_counter()
            fan_out()
            per_write.append((time.perf_counter() - started) / len(transports) * 1e6)
            await asyncio.sleep(0.05)
        per_write.sort()
        print(
            f"{name}: {len(transports)} sockets, {rounds} rounds: per write median "
            f"{per_write[len(per_write) // 2]:.1f} us, min {per_write[0]:.1f} us, "
            f"max {per_write[-1]:.1f} us"
        )
    pool.shutdown()
    peer.terminate()
    peer.join(5)
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    uvloop.run(main(args.sockets, args.rounds))
