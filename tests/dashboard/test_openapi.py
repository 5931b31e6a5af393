"""The OpenAPI schema describes the real bodies: every response below validates against it,
strictly (an undocumented field fails too)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator


def _strict(node: Any) -> Any:
    """OpenAPI 3.0 to JSON Schema: ``nullable`` becomes a null alternative, and objects with
    declared properties refuse undeclared ones."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items()}
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def check(schema: dict, path: str, method: str, status: int, body: Any) -> None:
    operation = schema["paths"][path][method]
    content = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    root = {**_strict(content), "components": _strict(schema["components"])}
    errors = sorted(Draft202012Validator(root).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_schema_generates_without_warnings(db, tmp_path):
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_every_documented_path_is_under_api(schema):
    assert all(path.startswith("/api/") for path in schema["paths"])


def test_read_responses_match_the_schema(world, client_for, schema):
    client = client_for(world.mentor)
    cid = world.cohort.pk
    check(schema, "/api/me/", "get", 200, client.get("/api/me/").json())
    check(schema, "/api/cohorts/", "get", 200, client.get("/api/cohorts/").json())
    check(
        schema,
        "/api/cohorts/{cohort_id}/snapshot/",
        "get",
        200,
        client.get(f"/api/cohorts/{cid}/snapshot/").json(),
    )
    check(
        schema,
        "/api/cohorts/{cohort_id}/events/",
        "get",
        200,
        client.get(f"/api/cohorts/{cid}/events/").json(),
    )
    check(
        schema,
        "/api/cohorts/{cohort_id}/snapshot/",
        "get",
        404,
        client.get("/api/cohorts/9999/snapshot/").json(),
    )
    check(
        schema,
        "/api/cohorts/{cohort_id}/events/",
        "get",
        400,
        client.get(f"/api/cohorts/{cid}/events/?limit=0").json(),
    )


def test_write_responses_match_the_schema(world, client_for, schema):
    client = client_for(world.mentor)
    cid, lid = world.cohort.pk, world.learner.pk
    path = "/api/cohorts/{cohort_id}/progress/{learner_id}/{milestone_slug}/"
    url = f"/api/cohorts/{cid}/progress/{lid}/python/"
    check(
        schema,
        path,
        "patch",
        200,
        client.patch(url, {"status": "completed", "score": 90, "version": 1}, format="json").json(),
    )
    check(
        schema,
        path,
        "patch",
        409,
        client.patch(url, {"status": "submitted", "version": 1}, format="json").json(),
    )
    check(schema, path, "patch", 400, client.patch(url, {"version": "x"}, format="json").json())
    kudos = "/api/cohorts/{cohort_id}/events/{seq}/kudos/"
    check(schema, kudos, "post", 201, client.post(f"/api/cohorts/{cid}/events/1/kudos/").json())
    check(schema, kudos, "post", 200, client.post(f"/api/cohorts/{cid}/events/1/kudos/").json())
    comments = "/api/cohorts/{cohort_id}/events/{seq}/comments/"
    check(
        schema,
        comments,
        "post",
        201,
        client.post(f"/api/cohorts/{cid}/events/1/comments/", {"text": "hi"}, format="json").json(),
    )
    check(schema, comments, "get", 200, client.get(f"/api/cohorts/{cid}/events/1/comments/").json())
    events = client.get(f"/api/cohorts/{cid}/events/").json()
    assert {e["kind"] for e in events["results"]} >= {
        "learner.added",
        "progress.updated",
        "kudos.added",
        "comment.added",
    }
    check(schema, "/api/cohorts/{cohort_id}/events/", "get", 200, events)
