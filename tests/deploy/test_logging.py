"""JSON-lines logs with a request id: the middleware, the filter and the formatter."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from dashboard.logging import (
    JsonLinesFormatter,
    RequestIdFilter,
    current_request_id,
    request_id_var,
)


@pytest.fixture
def json_lines():
    """Capture the access log as the JSON lines production writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("dashboard.access")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_a_request_keeps_the_proxys_request_id_in_the_response_and_the_log(client, json_lines):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="nginx-5f2a")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "nginx-5f2a"
    [line] = json_lines()
    assert line["request_id"] == "nginx-5f2a"
    assert line["logger"] == "dashboard.access"
    assert line["level"] == "INFO"
    assert line["message"] == "GET /healthz 200"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])


def test_a_request_without_an_id_gets_a_fresh_one(client, json_lines):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second
    assert [line["request_id"] for line in json_lines()] == [first, second]


@pytest.mark.parametrize("bad", ["a b", "x" * 65, "id\nforged log line", "<script>"])
def test_a_malformed_incoming_id_is_replaced(client, bad):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


async def test_the_async_path_carries_the_id_too(async_client, json_lines):
    response = await async_client.get("/healthz", headers={"X-Request-ID": "async-1"})
    assert response["X-Request-ID"] == "async-1"
    assert json_lines()[0]["request_id"] == "async-1"


def test_error_responses_are_logged_with_their_id(client, json_lines, db):
    response = client.get("/api/cohorts/", HTTP_X_REQUEST_ID="r-401")
    assert response.status_code == 401
    assert response["X-Request-ID"] == "r-401"
    assert json_lines()[0]["status"] == 401


def test_the_id_does_not_leak_out_of_the_request(client):
    client.get("/healthz", HTTP_X_REQUEST_ID="inside")
    assert current_request_id() == "-"


def _format(record: logging.LogRecord) -> dict:
    RequestIdFilter().filter(record)
    line = JsonLinesFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_formatter_writes_one_json_line_with_extras_and_the_exception():
    logger = logging.getLogger("tests.deploy")
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logger.makeRecord(
            "tests.deploy",
            logging.ERROR,
            __file__,
            1,
            "failed %s",
            ("twice",),
            exc_info=__import__("sys").exc_info(),
            extra={"cohort": 7, "when": object()},
        )
    line = _format(record)
    assert line["message"] == "failed twice"
    assert line["level"] == "ERROR"
    assert line["cohort"] == 7
    assert line["when"].startswith("<object")
    assert "ValueError: bad" in line["exc"]
    assert line["request_id"] == "-"


def test_formatter_uses_the_current_request_id_outside_the_middleware():
    token = request_id_var.set("job-42")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        assert _format(record)["request_id"] == "job-42"
    finally:
        request_id_var.reset(token)
