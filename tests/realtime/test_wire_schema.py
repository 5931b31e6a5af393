"""The wire schema of realtime/protocol.py on its own: client frames parsed once, layer
messages built once (the consumer's answers to bad frames are pinned in test_protocol)."""

from __future__ import annotations

import json

import pytest

from realtime import protocol
from realtime.protocol import FrameError, parse_client_frame


def parse(frame: object, authenticated: bool = True) -> object:
    data = frame if isinstance(frame, str) else json.dumps(frame)
    return parse_client_frame(data, authenticated=authenticated)


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "ping"},
        {"type": "ping", "ref": 3},
        {"type": "subscribe", "topic": "cohort:1"},
        {"type": "subscribe", "topic": "cohort:1", "since": None},
        {"type": "subscribe", "topic": "cohort:1", "since": 0},
        {"type": "subscribe", "topic": "cohort:1", "since": 2**62, "ref": "r"},
        {"type": "unsubscribe", "topic": "metrics:cache"},
    ],
)
def test_valid_frames_come_back_as_sent(frame):
    assert parse(frame) == frame


@pytest.mark.parametrize(
    ("frame", "code", "message"),
    [
        ("not json", "bad_frame", "A frame is a JSON object."),
        ("[" * 100_000, "bad_frame", "A frame is a JSON object."),  # nesting too deep
        ([1, 2], "bad_frame", "A frame is a JSON object."),
        ({"ref": 1}, "bad_frame", "A frame needs a string type."),
        ({"type": 7}, "bad_frame", "A frame needs a string type."),
        ({"type": "dance"}, "unknown_type", "Unknown frame type 'dance'."),
        ({"type": "subscribe"}, "bad_frame", "subscribe needs a topic."),
        ({"type": "unsubscribe", "topic": 1}, "bad_frame", "unsubscribe needs a topic."),
        ({"type": "subscribe", "topic": "cohort:1", "since": True}, "bad_frame", None),
        ({"type": "subscribe", "topic": "cohort:1", "since": -1}, "bad_frame", None),
        ({"type": "subscribe", "topic": "cohort:1", "since": 2**62 + 1}, "bad_frame", None),
        ({"type": "subscribe", "topic": "cohort:1", "since": "3"}, "bad_frame", None),
        ({"type": "auth", "token": "t"}, "already_authenticated", "Already authenticated."),
    ],
)
def test_bad_frames_raise_their_error_code(frame, code, message):
    with pytest.raises(FrameError) as caught:
        parse(frame)
    assert caught.value.code == code
    if message is not None:
        assert caught.value.message == message


def test_a_frame_error_carries_the_ref_to_echo():
    with pytest.raises(FrameError) as caught:
        parse({"type": "subscribe", "ref": {"n": 1}})
    assert caught.value.ref == {"n": 1}


@pytest.mark.parametrize(
    "frame", [{"type": "auth"}, {"type": "auth", "token": 5}, {"type": "ping"}, "nope"]
)
def test_before_auth_only_an_auth_with_a_string_token_parses(frame):
    with pytest.raises(FrameError):
        parse(frame, authenticated=False)
    assert parse({"type": "auth", "token": "x"}, authenticated=False)["token"] == "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("topic", "cohort_id"),
    [
        ("cohort:12", 12),
        ("cohort:0", None),
        ("cohort:-1", None),
        ("cohort:1x", None),
        ("cohort:\u0661", None),  # a non-ASCII digit (Arabic-Indic one)
        ("cohort:" + "9" * 19, None),
        ("metrics:cache", None),
        ("cohorts:1", None),
    ],
)
def test_cohort_topics_parse_to_their_id(topic, cohort_id):
    assert protocol.cohort_id_of(topic) == cohort_id


def test_layer_messages_carry_the_json_encoded_once():
    payload = {"seq": 4, "kind": "cohort.updated", "data": {}}
    message = protocol.event_message(9, payload)  # type: ignore[arg-type]
    assert message["type"] == protocol.MSG_EVENT and message["seq"] == 4
    assert json.loads(message["json"]) == payload
    assert protocol.metrics_message({"a": 1}) == {"type": protocol.MSG_METRICS, "json": '{"a":1}'}
    assert protocol.presence_message(9, [], [])["type"] == protocol.MSG_PRESENCE
    assert protocol.cohort_group(9) == "cohort.9"
