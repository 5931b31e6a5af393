"""The server speaking TLS itself (uvicorn with a certificate), native sends enabled.

Under TLS the socket's descriptor carries ciphertext: a frame written to it natively
would be plaintext in the middle of the TLS stream and kill the connection at its first
event. Such sockets take the transport's own (encrypting) write instead
(realtime/uvicorn_ws.py).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect

from realtime import hub as hub_module
from tests.realtime.conftest import token_for, wait_for
from tests.realtime.test_native_send import bump, seqs_until
from tests.support import free_port


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """Write a key and a certificate for 127.0.0.1; return their paths."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return key, cert


@pytest.fixture
async def tls_server(transactional_db, settings, tmp_path):
    """uvicorn with TLS on this test's loop; yield its wss:// URL and a client context."""
    import uvicorn

    from dashboard import serve
    from dashboard.asgi import application

    settings.WS_NATIVE_SEND = True
    key, cert = self_signed_certificate(tmp_path)
    port = free_port()
    options = {**serve.OPTIONS, "lifespan": "off", "log_level": "warning"}
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        ssl_keyfile=str(key),
        ssl_certfile=str(cert),
        **options,
    )
    srv = uvicorn.Server(config)
    task = asyncio.ensure_future(srv.serve())
    await wait_for(lambda: srv.started)
    context = ssl.create_default_context(cafile=str(cert))
    yield f"wss://127.0.0.1:{port}/ws/live/", context
    srv.should_exit = True
    await asyncio.wait_for(task, 10)


async def test_wss_clients_get_every_event_intact_and_keep_pinging(tls_server, world):
    url, context = tls_server
    topic = f"cohort:{world.cohort.pk}"
    clients = []
    for _ in range(3):
        ws = await connect(url, ssl=context, max_size=2**20)
        async with asyncio.timeout(10):
            await ws.send(json.dumps({"type": "auth", "token": token_for(world.mentor)}))
            assert json.loads(await ws.recv())["type"] == "welcome"
            await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
            while (frame := json.loads(await ws.recv()))["type"] != "subscribed":
                pass
        clients.append((ws, frame["seq"]))
    last = await sync_to_async(bump)(world, 100)
    for ws, head in clients:
        assert await seqs_until(ws, last) == list(range(head + 1, last + 1))
    for ws, _ in clients:
        for ref in range(3):
            await ws.send(json.dumps({"type": "ping", "ref": ref}))
            async with asyncio.timeout(5):
                while (frame := json.loads(await ws.recv()))["type"] != "pong":
                    pass
            assert frame.get("ref") == ref
    # Direct writes through each TLS transport, never natively to its descriptor.
    hub = hub_module.get_hub()
    assert all(conn.direct is not None and conn.fd == -1 for conn in hub.connections)
    assert hub.native_sends == 0
    for ws, _ in clients:
        await ws.close()
