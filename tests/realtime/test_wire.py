"""The shared frame bytes the hub writes straight to uvicorn's transports."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from realtime.hub import wire


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
