"""The cohort query's answer cache (dashboard/graphql/result_cache.py): a hit is the answer
a fresh execution would give, per audience, and any change of the snapshot is a miss."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.graphql import result_cache
from dashboard.graphql.schema import schema
from dashboard.services.progress import progress_update
from tests.factories import make_cohort
from tests.graphql.conftest import grade
from tests.graphql.test_queries import COHORT

# Fields of Cohort read from the caller's snapshot only (no clock, no other selector).
SNAPSHOT_ONLY = {
    "id",
    "name",
    "program",
    "startDate",
    "endDate",
    "learnerCount",
    "completion",
    "seq",
    "milestones",
    "learners",  # without arguments; any filter reads the clock (risk, overdue)
    "learner",
    "stats",
    "feed",
    "presence",
}
# Fields that read more, each with a query that uses it.
READS_MORE = {
    "events": "events(after: 0) { seq }",
    "timeline": "timeline(learner: $l) { next }",
    "progressHistory": 'progressHistory(learner: $l, milestone: "python") { seq }',
    "learners(overdue)": "learners(overdue: true) { id }",
}


def _stats() -> tuple[int, int, int]:
    s = result_cache.results.stats
    return s.hits, s.misses, s.stored


def _fresh(gql, user, variables, settings) -> dict:
    """The answer with the cache off: what a hit must equal."""
    settings.GRAPHQL_RESULT_CACHE = 0
    try:
        return gql(user).run(COHORT, variables)
    finally:
        settings.GRAPHQL_RESULT_CACHE = 128


def test_the_same_query_again_is_a_hit_equal_to_a_fresh_answer(world, gql, settings):
    variables = {"id": world.cohort.pk}
    client = gql(world.mentor)
    first = client.run(COHORT, variables)
    assert _stats() == (0, 1, 1)
    second = client.run(COHORT, variables)
    assert _stats() == (1, 1, 1)
    assert second == first == _fresh(gql, world.mentor, variables, settings)


def test_a_hit_costs_the_token_and_the_role_only(db, gql, django_assert_num_queries):
    world = make_cohort(learners=40)
    client = gql(world.mentor)
    client.run(COHORT, {"id": world.cohort.pk})
    with django_assert_num_queries(2):
        client.run(COHORT, {"id": world.cohort.pk})
    assert _stats()[0] == 1


def test_the_cached_answer_changes_after_a_write(world, gql, settings):
    variables = {"id": world.cohort.pk}
    client = gql(world.mentor)
    before = client.run(COHORT, variables)["data"]["cohort"]
    grade(world, 88)
    after = client.run(COHORT, variables)
    assert after == _fresh(gql, world.mentor, variables, settings)
    cohort = after["data"]["cohort"]
    assert cohort["seq"] == before["seq"] + 1
    row = next(r for r in cohort["learners"] if r["id"] == str(world.learner.pk))
    assert row["progress"][0] == {**row["progress"][0], "status": "COMPLETED", "score": 88}
    assert _stats() == (0, 2, 2)


def test_answers_differ_per_audience_and_keep_privacy(world, staff, gql, settings):
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=world.learners[0].pk,
        milestone_slug="python",
        status="completed",
        score=91,
        version=1,
    )
    variables = {"id": world.cohort.pk}
    me, peer = world.learners[0], world.learners[1]

    def score_of(body: dict, learner) -> int | None:
        rows = body["data"]["cohort"]["learners"]
        return next(r for r in rows if r["id"] == str(learner.pk))["progress"][0]["score"]

    answers = {}
    for who, user in (("mentor", world.mentor), ("me", me.user), ("peer", peer.user)):
        answers[who] = gql(user).run(COHORT, variables)
        assert gql(user).run(COHORT, variables) == answers[who]  # a hit
        assert answers[who] == _fresh(gql, user, variables, settings)
    assert score_of(answers["mentor"], me) == score_of(answers["me"], me) == 91
    assert score_of(answers["peer"], me) is None
    peer_view = {r["id"]: r for r in answers["peer"]["data"]["cohort"]["learners"]}
    assert peer_view[str(me.pk)]["atRisk"] is None
    assert answers["me"] != answers["peer"] != answers["mentor"]
    hits, _, stored = _stats()
    assert (hits, stored) == (3, 3)
    # Staff and mentors see the same snapshot: one answer serves both.
    assert gql(staff).run(COHORT, variables) == answers["mentor"]
    assert _stats()[0] == 4


def test_a_presence_change_is_a_miss(world, gql, monkeypatch):
    client = gql(world.mentor)
    client.run(COHORT, {"id": world.cohort.pk})
    since = timezone.now().isoformat()
    entry = {"user": {"id": world.learner.user.pk, "name": "Learner 0"}, "role": "learner"}
    monkeypatch.setattr(
        "dashboard.selectors.cohorts.presence_snapshot",
        lambda cohort_id: [{**entry, "since": since}],
    )
    body = client.run(COHORT, {"id": world.cohort.pk})
    assert [p["user"]["name"] for p in body["data"]["cohort"]["presence"]] == ["Learner 0"]
    assert _stats() == (0, 2, 2)


def test_risk_as_the_clock_turns_is_a_miss(world, gql, monkeypatch):
    """No write, same cache version: a learner idle past the threshold is at risk later."""
    client = gql(world.mentor)
    first = client.run(COHORT, {"id": world.cohort.pk})["data"]["cohort"]["learners"]
    later = timezone.now() + timedelta(days=60)
    monkeypatch.setattr("dashboard.selectors.cohorts.timezone.now", lambda: later)
    second = client.run(COHORT, {"id": world.cohort.pk})["data"]["cohort"]["learners"]
    assert [r["riskReasons"] for r in second] != [r["riskReasons"] for r in first]
    assert _stats()[0] == 0


@pytest.mark.parametrize("field", sorted(READS_MORE))
def test_answers_that_read_more_than_the_snapshot_are_not_kept(world, gql, field):
    query = f"query($id: ID!, $l: ID!) {{ cohort(id: $id) {{ id {READS_MORE[field]} }} }}"
    if "$l" not in READS_MORE[field]:
        query = query.replace(", $l: ID!", "")
    client = gql(world.mentor)
    variables = {"id": world.cohort.pk}
    if "$l" in query:
        variables["l"] = world.learner.pk
    body = client.run(query, variables)
    assert "errors" not in body
    client.run(query, variables)
    assert _stats()[2] == 0


def test_every_cohort_field_is_classified():
    """A new Cohort field must be sorted: snapshot-only, or it calls not_snapshot_only."""
    fields = set(schema._schema.type_map["Cohort"].fields)  # type: ignore[union-attr]
    more = {name.split("(")[0] for name in READS_MORE} - {"learners"}
    assert fields == SNAPSHOT_ONLY | more


def test_errors_and_other_roots_are_not_kept(world, other_world, gql):
    client = gql(world.mentor)
    for _ in range(2):
        client.run(
            "query($id: ID!) { cohort(id: $id) { learner(id: 999999) { id } } }",
            {"id": world.cohort.pk},
        )
        client.run(COHORT, {"id": other_world.cohort.pk})  # NOT_FOUND
        client.run("{ me { id } cohorts { id } }")
    assert _stats()[2] == 0


def test_the_cache_can_be_turned_off(world, gql, settings):
    settings.GRAPHQL_RESULT_CACHE = 0
    client = gql(world.mentor)
    client.run(COHORT, {"id": world.cohort.pk})
    client.run(COHORT, {"id": world.cohort.pk})
    assert _stats() == (0, 0, 0)


def test_the_cache_is_bounded(db, gql, settings):
    settings.GRAPHQL_RESULT_CACHE = 2
    worlds = [make_cohort(learners=1) for _ in range(3)]
    for w in worlds:
        gql(w.mentor).run(COHORT, {"id": w.cohort.pk})
    assert len(result_cache.results._entries) == 2
    settings.GRAPHQL_RESULT_CACHE_BYTES = 10
    gql(worlds[0].mentor).run(COHORT, {"id": worlds[0].cohort.pk})
    assert len(result_cache.results._entries) == 2  # too big to keep: nothing added
