"""The contract against the real ``make run`` server, as an outside client meets it: the
demo logins over HTTP and a graphql-transport-ws socket."""

from __future__ import annotations

import asyncio
import json

import pytest
import requests
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.blackbox.conftest import server, tokens  # noqa: F401 - the real server

pytestmark = pytest.mark.slow


def post(base: str, token: str | None, query: str, variables: dict | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        f"{base}/graphql/",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=20,
    )


def codes(response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


def cohort_of(base: str, token: str, role: str) -> int:
    me = post(base, token, "{ me { memberships { cohort { id } role } } }").json()
    return next(
        int(m["cohort"]["id"]) for m in me["data"]["me"]["memberships"] if m["role"] == role
    )


def test_roles_over_http(server, tokens):  # noqa: F811
    assert post(server, None, "{ cohorts { id } }").status_code == 401
    staff = post(server, tokens["admin"], "{ cohorts { id } }").json()["data"]["cohorts"]
    mine = cohort_of(server, tokens["mentor"], "MENTOR")
    others = post(server, tokens["mentor2"], "{ cohorts { id } }").json()["data"]["cohorts"]
    assert {c["id"] for c in others} < {c["id"] for c in staff}
    query = "query($c: ID!) { cohort(id: $c) { seq learners { atRisk progress { score } } } }"
    if str(mine) not in {c["id"] for c in others}:
        foreign = post(server, tokens["mentor2"], query, {"c": mine})
        assert foreign.status_code == 200 and foreign.json()["data"] == {"cohort": None}
        assert codes(foreign) == ["NOT_FOUND"]
    learner_cohort = cohort_of(server, tokens["learner"], "LEARNER")
    seen = post(server, tokens["learner"], query, {"c": learner_cohort}).json()["data"]["cohort"]
    assert any(row["atRisk"] is None for row in seen["learners"])  # peers, redacted
    assert post(server, tokens["mentor"], "{ cohorts { id ").status_code == 400


def test_write_conflict_and_resumable_subscription(server, tokens):  # noqa: F811
    learner = tokens["learner"]
    me = post(
        server,
        learner,
        """{ me { memberships { cohort { id seq } learner { id
        progress { milestone status version } } } } }""",
    ).json()["data"]["me"]
    membership = next(m for m in me["memberships"] if m["learner"])
    cohort, seq = membership["cohort"]["id"], membership["cohort"]["seq"]
    cell = next(
        p
        for p in membership["learner"]["progress"]
        if p["status"] in ("NOT_STARTED", "IN_PROGRESS", "SUBMITTED")
    )
    target = {"NOT_STARTED": "IN_PROGRESS", "IN_PROGRESS": "SUBMITTED", "SUBMITTED": "IN_PROGRESS"}[
        cell["status"]
    ]
    mutation = """mutation($c: ID!, $l: ID!, $m: String!, $s: ProgressStatus, $v: Int!) {
      updateProgress(cohort: $c, learner: $l, milestone: $m, status: $s, version: $v) {
        status version seq } }"""
    variables = {
        "c": cohort,
        "l": membership["learner"]["id"],
        "m": cell["milestone"],
        "s": target,
        "v": cell["version"],
    }

    async def run() -> None:
        url = server.replace("http", "ws") + "/graphql/"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            init = {"type": "connection_init", "payload": {"authorization": f"Bearer {learner}"}}
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv()) == {"type": "connection_ack"}
            written = await asyncio.to_thread(post, server, learner, mutation, variables)
            write = written.json()["data"]["updateProgress"]
            assert write["status"] == target and write["seq"] > seq
            again = await asyncio.to_thread(post, server, learner, mutation, variables)
            assert codes(again) == ["VERSION_CONFLICT"]
            assert again.json()["errors"][0]["extensions"]["current"]["version"] == write["version"]
            payload = {
                "query": "subscription($c: ID!, $a: Int) { cohortEvents(cohort: $c, "
                "afterSeq: $a) { seq kind } }",
                "variables": {"c": cohort, "a": seq},
            }
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            seen = []
            while not seen or seen[-1] < write["seq"]:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert message["type"] == "next", message
                seen.append(message["payload"]["data"]["cohortEvents"]["seq"])
            assert seen == list(range(seq + 1, write["seq"] + 1))
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nope"}})
            )
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 4403

    asyncio.run(run())
