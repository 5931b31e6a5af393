"""Two real server processes on one Redis: a GraphQL mutation through one reaches a
graphql-transport-ws subscriber on the other, over real sockets."""

from __future__ import annotations

import asyncio
import json

import pytest
import requests
from websockets.asyncio.client import connect

from tests.realtime.conftest import redis_server  # noqa: F401 - the private redis-server
from tests.realtime.test_two_processes import frames_until, servers, token  # noqa: F401

pytestmark = pytest.mark.slow


def graphql(port: int, access: str, query: str, variables: dict) -> dict:
    response = requests.post(
        f"http://127.0.0.1:{port}/graphql/",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_mutation_on_one_process_reaches_a_subscriber_on_the_other(servers):  # noqa: F811
    port_a, port_b = servers["ports"]
    cohort = servers["cohort"]
    mentor = token(port_a, "mentor")
    async with connect(
        f"ws://127.0.0.1:{port_b}/graphql/", subprotocols=["graphql-transport-ws"]
    ) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {mentor}"}}
            )
        )
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        head = graphql(port_b, mentor, "query($c: ID!) { cohort(id: $c) { seq } }", {"c": cohort})
        seq = head["data"]["cohort"]["seq"]
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription($c: ID!, $a: Int) { cohortEvents(cohort: $c, "
                        "afterSeq: $a) { seq kind data } }",
                        "variables": {"c": cohort, "a": seq},
                    },
                }
            )
        )
        await asyncio.sleep(0.5)  # the subscription is live on B
        written = await asyncio.to_thread(
            graphql,
            port_a,
            mentor,
            'mutation($c: ID!, $s: Int!) { addComment(cohort: $c, seq: $s, text: "hi") { id } }',
            {"c": cohort, "s": 1},
        )
        assert "errors" not in written, written
        message = await frames_until(ws, lambda m: m.get("type") == "next")
        event = message["payload"]["data"]["cohortEvents"]
        assert event["seq"] == seq + 1 and event["kind"] == "comment.added"
        assert event["data"]["text"] == "hi"
