"""The full cohort query: a fixed number of SQL queries whatever the cohort size, and the
same data as the REST snapshot, cell by cell, at the same seq."""

from __future__ import annotations

import pytest

from tests.factories import make_cohort
from tests.graphql.conftest import grade
from tests.graphql.test_queries import COHORT


@pytest.mark.parametrize("learners", [40, 400])
def test_full_cohort_query_count_is_pinned(db, gql, django_assert_num_queries, learners):
    world = make_cohort(learners=learners)
    client = gql(world.mentor)
    # The JWT's user (1), the caller's role (1), the snapshot's one consistent read (5).
    with django_assert_num_queries(7):
        body = client.run(COHORT, {"id": world.cohort.pk})
    assert len(body["data"]["cohort"]["learners"]) == learners


def _cell(cell: dict) -> dict:
    return {
        "status": cell["status"].lower(),
        "score": cell["score"],
        "version": cell["version"],
        "updated_at": cell["updatedAt"],
    }


def test_graphql_cohort_equals_the_rest_snapshot(world, gql, client_for):
    grade(world, 77)
    rest = client_for(world.mentor).get(f"/api/cohorts/{world.cohort.pk}/snapshot/").json()
    graph = gql(world.mentor).run(COHORT, {"id": world.cohort.pk})["data"]["cohort"]
    assert graph["seq"] == rest["seq"]
    assert graph["name"] == rest["cohort"]["name"]
    assert graph["startDate"] == rest["cohort"]["start_date"]
    assert [
        {
            "slug": m["slug"],
            "title": m["title"],
            "order": m["order"],
            "week": m["week"],
            "due_date": m["dueDate"],
        }
        for m in graph["milestones"]
    ] == rest["milestones"]
    assert len(graph["learners"]) == len(rest["learners"])
    for g, r in zip(graph["learners"], rest["learners"], strict=True):
        assert g["id"] == str(r["id"]) and g["name"] == r["name"]
        assert g["atRisk"] == r["at_risk"] and g["riskReasons"] == r["risk_reasons"]
        assert {p["milestone"]: _cell(p) for p in g["progress"]} == r["progress"]
    stats = graph["stats"]
    assert stats["completion"] == rest["stats"]["completion"]
    assert (stats["onTrack"], stats["atRisk"]) == (
        rest["stats"]["on_track"],
        rest["stats"]["at_risk"],
    )
    assert {
        s["milestone"]: {
            "not_started": s["notStarted"],
            "in_progress": s["inProgress"],
            "submitted": s["submitted"],
            "completed": s["completed"],
        }
        for s in graph["stats"]["byMilestone"]
    } == rest["stats"]["by_milestone"]
    assert [
        {**e, "actor": e["actor"] and {"id": int(e["actor"]["id"]), "name": e["actor"]["name"]}}
        for e in graph["feed"]
    ] == rest["feed"]
