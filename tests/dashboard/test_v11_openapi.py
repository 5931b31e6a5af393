"""The v1.1 endpoints are in the OpenAPI schema, and their bodies validate against it."""

from __future__ import annotations

from tests.dashboard.test_openapi import check, schema  # noqa: F401 - the fixture


def test_v11_paths_are_documented(schema):  # noqa: F811
    assert {
        "/api/cohorts/{cohort_id}/learners/",
        "/api/cohorts/{cohort_id}/learners/{learner_id}/timeline/",
        "/api/cohorts/{cohort_id}/progress/{learner_id}/{milestone_slug}/history/",
        "/api/cohorts/{cohort_id}/export.csv",
        "/api/program/overview/",
        "/api/me/notifications/",
    } <= set(schema["paths"])
    export = schema["paths"]["/api/cohorts/{cohort_id}/export.csv"]["get"]["responses"]
    assert "text/csv" in export["200"]["content"]
    assert {"403", "404"} <= set(export)


def test_v11_reads_match_the_schema(world, staff, client_for, schema):  # noqa: F811
    mentor, learner = client_for(world.mentor), client_for(world.learner.user)
    cid, lid = world.cohort.pk, world.learner.pk
    learners = "/api/cohorts/{cohort_id}/learners/"
    check(schema, learners, "get", 200, mentor.get(f"/api/cohorts/{cid}/learners/").json())
    check(schema, learners, "get", 200, learner.get(f"/api/cohorts/{cid}/learners/").json())
    check(
        schema,
        learners,
        "get",
        400,
        mentor.get(f"/api/cohorts/{cid}/learners/?at_risk=maybe").json(),
    )
    timeline = "/api/cohorts/{cohort_id}/learners/{learner_id}/timeline/"
    url = f"/api/cohorts/{cid}/learners/{lid}/timeline/"
    check(schema, timeline, "get", 200, mentor.get(url).json())
    check(schema, timeline, "get", 200, learner.get(url).json())
    check(schema, timeline, "get", 404, client_for(world.learners[1].user).get(url).json())
    history = "/api/cohorts/{cohort_id}/progress/{learner_id}/{milestone_slug}/history/"
    url = f"/api/cohorts/{cid}/progress/{lid}/python/history/"
    check(schema, history, "get", 200, mentor.get(url).json())
    check(schema, history, "get", 200, client_for(world.learners[1].user).get(url).json())
    export = "/api/cohorts/{cohort_id}/export.csv"
    check(schema, export, "get", 403, learner.get(f"/api/cohorts/{cid}/export.csv").json())
    program = "/api/program/overview/"
    check(schema, program, "get", 200, client_for(staff).get(program).json())
    check(schema, program, "get", 403, mentor.get(program).json())
    notifications = "/api/me/notifications/"
    check(schema, notifications, "get", 200, mentor.get(notifications).json())
    patched = mentor.patch(notifications, {"daily_digest": False}, format="json").json()
    check(schema, notifications, "patch", 200, patched)
    refused = mentor.patch(notifications, {"daily_digest": 1}, format="json").json()
    check(schema, notifications, "patch", 400, refused)
