"""The shared frame bytes the hub writes straight to uvicorn's transports."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from realtime.hub import _direct_protocol, wire


@pytest.mark.parametrize("size", [0, 125, 126, 300, 65535, 65536, 70000])
def test_wire_is_one_valid_unmasked_text_frame(size):
    text = "é" * (size // 2) + "x" * (size % 2)
    reader = StreamReader()
    reader.feed_data(wire(text))
    parser = Frame.parse(reader.read_exact, mask=False)
    with pytest.raises(StopIteration) as done:
        next(parser)
    frame = done.value.value
    assert frame.opcode == Opcode.TEXT
    assert frame.fin
    assert frame.data.decode() == text


def test_direct_writes_only_behind_uvicorn_sansio_without_extensions():
    class WebSocketsSansIOProtocol:  # the shape of uvicorn's protocol
        def __init__(self, extensions):
            self.conn = type("Conn", (), {"extensions": extensions})()
            self.writable = object()

        async def send(self, message):
            return None

    plain = WebSocketsSansIOProtocol([])
    deflate = WebSocketsSansIOProtocol(["permessage-deflate"])
    assert _direct_protocol(plain.send) is plain
    assert _direct_protocol(deflate.send) is None

    async def other_send(message):
        return None

    assert _direct_protocol(other_send) is None
