"""Queries per role: what each caller sees, and the one NOT_FOUND for missing and foreign."""

from __future__ import annotations

from dashboard.selectors.cohorts import cohort_snapshot
from tests.graphql.conftest import codes, complete

COHORT = """
query($id: ID!) { cohort(id: $id) {
  id name program startDate endDate learnerCount completion seq
  milestones { slug title order week dueDate }
  learners { id name atRisk riskReasons completion
             progress { milestone status score version updatedAt } }
  stats { completion onTrack atRisk
          byMilestone { milestone notStarted inProgress submitted completed } }
  feed { seq kind at actor { id name } data kudos comments }
  presence { user { id name } role since }
} }
"""


def test_mentor_reads_the_whole_cohort(world, gql):
    body = gql(world.mentor).run(COHORT, {"id": world.cohort.pk})
    assert "errors" not in body
    cohort = body["data"]["cohort"]
    assert cohort["id"] == str(world.cohort.pk)
    assert cohort["learnerCount"] == 3
    assert len(cohort["learners"]) == 3
    assert [p["milestone"] for p in cohort["learners"][0]["progress"]] == [
        m["slug"] for m in cohort["milestones"]
    ]
    assert cohort["seq"] == 3


def test_mentor_of_another_cohort_gets_null_and_not_found(world, other_world, gql):
    body = gql(other_world.mentor).run(COHORT, {"id": world.cohort.pk})
    assert body["data"] == {"cohort": None}
    assert codes(body) == ["NOT_FOUND"]


def test_missing_cohort_is_the_same_not_found(world, gql):
    foreign = gql(world.mentor).run(COHORT, {"id": 999999})
    garbage = gql(world.mentor).run(COHORT, {"id": "abc"})
    assert foreign["data"] == garbage["data"] == {"cohort": None}
    assert codes(foreign) == codes(garbage) == ["NOT_FOUND"]
    assert foreign["errors"][0]["message"] == garbage["errors"][0]["message"]


def test_staff_sees_every_cohort(world, other_world, staff, gql):
    body = gql(staff).run("{ cohorts { id name learnerCount completion } }")
    ids = {c["id"] for c in body["data"]["cohorts"]}
    assert {str(world.cohort.pk), str(other_world.cohort.pk)} <= ids


def test_learner_lists_only_their_cohorts(world, other_world, gql):
    body = gql(world.learner.user).run("{ cohorts { id } }")
    assert body["data"]["cohorts"] == [{"id": str(world.cohort.pk)}]


def test_anonymous_gets_401(world, gql):
    response = gql().post("{ cohorts { id } }")
    assert response.status_code == 401
    assert codes(response.json()) == ["UNAUTHENTICATED"]


def test_anonymous_may_introspect_the_public_schema(gql):
    response = gql().post("{ __schema { queryType { name } } }")
    assert response.status_code == 200
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


def test_me_lists_memberships_with_the_learner(world, gql):
    body = gql(world.learner.user).run(
        "{ me { id username name isStaff memberships { cohort { id } role learner { id } } } }"
    )
    me = body["data"]["me"]
    assert me["isStaff"] is False
    assert me["memberships"] == [
        {
            "cohort": {"id": str(world.cohort.pk)},
            "role": "LEARNER",
            "learner": {"id": str(world.learner.pk)},
        }
    ]


def test_learner_sees_peers_without_score_or_risk(world, gql):
    peer = world.learners[1]
    complete(world, peer, 90)
    body = gql(world.learner.user).run(COHORT, {"id": world.cohort.pk})
    rows = {r["id"]: r for r in body["data"]["cohort"]["learners"]}
    seen_peer = rows[str(peer.pk)]
    assert seen_peer["atRisk"] is None and seen_peer["riskReasons"] == []
    assert all(p["score"] is None for p in seen_peer["progress"])
    own = rows[str(world.learner.pk)]
    assert own["atRisk"] is not None
    feed = body["data"]["cohort"]["feed"]
    assert feed[0]["data"]["score"] is None
    mentor_view = gql(world.mentor).run(COHORT, {"id": world.cohort.pk})
    assert mentor_view["data"]["cohort"]["feed"][0]["data"]["score"] == 90


def test_at_risk_filter_keeps_only_learners_at_risk(world, gql):
    body = gql(world.mentor).run(
        "query($id: ID!) { cohort(id: $id) { learners(atRisk: true) { id atRisk riskReasons } } }",
        {"id": world.cohort.pk},
    )
    snap = cohort_snapshot(cohort_id=world.cohort.pk)
    expected = [str(r["id"]) for r in snap["learners"] if r["at_risk"]]
    assert [r["id"] for r in body["data"]["cohort"]["learners"]] == expected
    assert all(r["atRisk"] and r["riskReasons"] for r in body["data"]["cohort"]["learners"])


def test_events_page_is_oldest_first_after_the_given_seq(world, gql):
    body = gql(world.mentor).run(
        "query($id: ID!) { cohort(id: $id) { events(after: 1, first: 1) { seq } } }",
        {"id": world.cohort.pk},
    )
    assert body["data"]["cohort"]["events"] == [{"seq": 2}]


def test_cache_metrics_for_mentors_forbidden_to_learners(world, gql):
    query = "{ cacheMetrics { current { at backend hits misses opsPerSec } history { at } } }"
    body = gql(world.mentor).run(query)
    assert body["data"]["cacheMetrics"]["current"]["backend"]
    refused = gql(world.learner.user).run(query)
    assert refused["data"] is None
    assert codes(refused) == ["FORBIDDEN"]
