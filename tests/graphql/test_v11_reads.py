"""The v1.1 reads in GraphQL (issue 19): the learners filter, a learner's timeline, a cell's
history, the program overview and the caller's notification settings. Per role, the same
answer as REST's, and pinned query counts."""

from __future__ import annotations

import pytest
from django.db import transaction

from dashboard.models import Event, Progress
from dashboard.services.events import event_append
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add, kudos_add
from tests.factories import make_cohort
from tests.graphql.conftest import codes

LEARNERS = """
query($id: ID!, $atRisk: Boolean, $overdue: Boolean, $milestone: String,
      $status: ProgressStatus, $search: String) {
  cohort(id: $id) {
    learners(atRisk: $atRisk, overdue: $overdue, milestone: $milestone, status: $status,
             search: $search) {
      id name atRisk riskReasons progress { milestone status score version updatedAt }
    }
  }
}
"""

TIMELINE = """
query($id: ID!, $learner: ID!, $before: Int, $first: Int) {
  cohort(id: $id) {
    id
    timeline(learner: $learner, before: $before, first: $first) {
      learner { id name completion atRisk riskReasons }
      events { seq kind at actor { id name } data kudos comments }
      next
    }
  }
}
"""

HISTORY = """
query($id: ID!, $learner: ID!, $milestone: String!) {
  cohort(id: $id) {
    id
    progressHistory(learner: $learner, milestone: $milestone) {
      version status score at actor { id name } seq
    }
  }
}
"""

OVERVIEW = """
{ programOverview {
    cohorts { id name week completion expectedCompletion onTrack atRisk completionByWeek }
    slowestMilestones { slug title medianDaysLate }
} }
"""

NOTIFICATIONS = "{ me { notifications { atRiskEmail dailyDigest } } }"


def _set(world, learner, slug: str, **changes) -> None:
    cell = Progress.objects.get(learner=learner, milestone__slug=slug)
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=learner.pk,
        milestone_slug=slug,
        version=cell.version,
        **changes,
    )


@pytest.fixture
def story(world):
    """Learner 0 completed python and django (70; kudos and a comment on python), was
    marked at risk once; learners 1 and 2 are overdue; learner 1 started python."""
    me, peer = world.learners[0], world.learners[1]
    _set(world, me, "python", status="in_progress")
    _set(world, me, "python", status="completed", score=70)
    done = Event.objects.filter(cohort=world.cohort).order_by("-seq").first().seq
    kudos_add(actor=peer.user, cohort_id=world.cohort.pk, seq=done)
    comment_add(actor=world.mentor, cohort_id=world.cohort.pk, seq=done, text="Nice")
    _set(world, me, "django", status="completed", score=90)
    _set(world, peer, "python", status="in_progress")
    with transaction.atomic():
        event_append(
            cohort_id=world.cohort.pk,
            kind=Event.Kind.LEARNER_AT_RISK,
            actor=None,
            data={"learner": {"id": me.pk, "name": "x"}, "reasons": ["Django was due"]},
        )
    return world


def _rest_cell(cell: dict) -> dict:
    return {
        "status": cell["status"].lower(),
        "score": cell["score"],
        "version": cell["version"],
        "updated_at": cell["updatedAt"],
    }


def _as_rest_learner(row: dict) -> dict:
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "at_risk": row["atRisk"],
        "risk_reasons": row["riskReasons"],
        "progress": {p["milestone"]: _rest_cell(p) for p in row["progress"]},
    }


def _as_rest_event(event: dict) -> dict:
    actor = event["actor"]
    return {**event, "actor": actor and {"id": int(actor["id"]), "name": actor["name"]}}


# --------------------------------------------------------------------------------------
# The learners filter
# --------------------------------------------------------------------------------------

FILTERS = [
    ({}, ""),
    ({"atRisk": True}, "?at_risk=true"),
    ({"atRisk": False}, "?at_risk=false"),
    ({"overdue": True}, "?overdue=true"),
    ({"overdue": False}, "?overdue=false"),
    ({"milestone": "python", "status": "IN_PROGRESS"}, "?milestone=python&status=in_progress"),
    ({"search": "LEARNER 1"}, "?search=learner%201"),
    ({"overdue": True, "search": "learner"}, "?overdue=true&search=learner"),
]


@pytest.mark.parametrize(("variables", "query"), FILTERS)
def test_mentor_filter_equals_rest(story, gql, client_for, variables, query):
    url = f"/api/cohorts/{story.cohort.pk}/learners/{query}"
    rest = client_for(story.mentor).get(url).json()["results"]
    body = gql(story.mentor).run(LEARNERS, {"id": story.cohort.pk, **variables})
    assert "errors" not in body
    rows = body["data"]["cohort"]["learners"]
    assert [_as_rest_learner(r) for r in rows] == [
        {k: v for k, v in r.items() if k != "user"} for r in rest
    ]


@pytest.mark.parametrize(("variables", "query"), [f for f in FILTERS if "atRisk" not in f[0]])
def test_learner_filter_equals_rest_and_hides_peers(story, gql, client_for, variables, query):
    me = story.learners[0]
    url = f"/api/cohorts/{story.cohort.pk}/learners/{query}"
    rest = client_for(me.user).get(url).json()["results"]
    body = gql(me.user).run(LEARNERS, {"id": story.cohort.pk, **variables})
    rows = body["data"]["cohort"]["learners"]
    assert [_as_rest_learner(r) for r in rows] == [
        {k: v for k, v in r.items() if k != "user"} for r in rest
    ]
    for row in rows:
        if row["id"] != str(me.pk):
            assert row["atRisk"] is None and row["riskReasons"] == []
            assert all(p["score"] is None for p in row["progress"])


def test_overdue_and_cell_filters_select_the_right_learners(story, gql):
    run = gql(story.mentor).run
    late = run(LEARNERS, {"id": story.cohort.pk, "overdue": True})["data"]["cohort"]["learners"]
    assert [r["id"] for r in late] == [str(m.pk) for m in story.learners[1:]]
    started = run(LEARNERS, {"id": story.cohort.pk, "milestone": "python", "status": "IN_PROGRESS"})
    assert [r["id"] for r in started["data"]["cohort"]["learners"]] == [str(story.learners[1].pk)]


def test_learner_may_not_filter_by_risk(story, gql):
    body = gql(story.learners[0].user).run(LEARNERS, {"id": story.cohort.pk, "atRisk": True})
    assert body["data"] == {"cohort": None}
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "at_risk" in body["errors"][0]["extensions"]["fields"]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"milestone": "python"}, "status"),
        ({"status": "COMPLETED"}, "milestone"),
        ({"milestone": "nope", "status": "COMPLETED"}, "milestone"),
        ({"search": "x" * 101}, "search"),
    ],
)
def test_bad_filters_are_bad_user_input_with_the_field(world, gql, variables, field):
    body = gql(world.mentor).run(LEARNERS, {"id": world.cohort.pk, **variables})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert field in body["errors"][0]["extensions"]["fields"]


def test_filter_for_staff_and_not_for_other_cohorts(world, other_world, staff, gql):
    staff_rows = gql(staff).run(LEARNERS, {"id": world.cohort.pk, "overdue": True})
    assert len(staff_rows["data"]["cohort"]["learners"]) == 3
    foreign = gql(other_world.mentor).run(LEARNERS, {"id": world.cohort.pk, "overdue": True})
    assert foreign["data"] == {"cohort": None} and codes(foreign) == ["NOT_FOUND"]
    assert gql().post(LEARNERS, {"id": world.cohort.pk}).status_code == 401


@pytest.mark.parametrize("learners", [40, 400])
def test_a_warm_filter_costs_two_queries(db, gql, django_assert_num_queries, learners):
    world = make_cohort(learners=learners)
    client = gql(world.mentor)
    client.run(LEARNERS, {"id": world.cohort.pk})  # warms the snapshot bundle
    # The JWT's user, the caller's role; the rows come from the cached bundle.
    with django_assert_num_queries(2):
        body = client.run(LEARNERS, {"id": world.cohort.pk, "overdue": True, "search": "learner"})
    assert len(body["data"]["cohort"]["learners"]) == learners


def test_the_filter_sees_the_snapshot_seq_reads(world, gql):
    """One bundle per operation: a filtered list and seq come from the same read."""
    query = """query($id: ID!) { cohort(id: $id) { seq learners(overdue: true) { id }
               all: learners { id } } }"""
    body = gql(world.mentor).run(query, {"id": world.cohort.pk})
    assert body["data"]["cohort"]["seq"] == 3
    assert len(body["data"]["cohort"]["all"]) == 3


# --------------------------------------------------------------------------------------
# A learner's timeline
# --------------------------------------------------------------------------------------


def _timeline(client, world, learner, **variables):
    return client.run(TIMELINE, {"id": world.cohort.pk, "learner": learner.pk, **variables})


def test_timeline_equals_rest_for_mentor_staff_and_self(story, staff, gql, client_for):
    me = story.learners[0]
    for user in (story.mentor, staff, me.user):
        url = f"/api/cohorts/{story.cohort.pk}/learners/{me.pk}/timeline/?limit=3"
        rest = client_for(user).get(url).json()
        page = _timeline(gql(user), story, me, first=3)["data"]["cohort"]["timeline"]
        head = page["learner"]
        assert {**head, "id": int(head["id"])} == {
            "id": rest["learner"]["id"],
            "name": rest["learner"]["name"],
            "completion": rest["learner"]["completion"],
            "atRisk": rest["learner"]["at_risk"],
            "riskReasons": rest["learner"]["risk_reasons"],
        }
        assert [_as_rest_event(e) for e in page["events"]] == rest["results"]
        assert page["next"] == rest["next"] is not None
    kinds = [
        e["kind"]
        for e in _timeline(gql(story.mentor), story, me)["data"]["cohort"]["timeline"]["events"]
    ]
    assert kinds[:3] == ["learner.at_risk", "progress.updated", "comment.added"]


def test_timeline_pages_with_before(story, gql):
    client = gql(story.mentor)
    me = story.learners[0]
    first = _timeline(client, story, me, first=2)["data"]["cohort"]["timeline"]
    second = _timeline(client, story, me, first=50, before=first["next"])["data"]["cohort"]
    seqs = [e["seq"] for e in first["events"] + second["timeline"]["events"]]
    every = [e["seq"] for e in _timeline(client, story, me)["data"]["cohort"]["timeline"]["events"]]
    assert seqs == every and second["timeline"]["next"] is None


def test_a_peers_timeline_is_null_and_not_found(story, gql):
    body = _timeline(gql(story.learners[0].user), story, story.learners[1])
    assert body["data"]["cohort"] == {"id": str(story.cohort.pk), "timeline": None}
    assert codes(body) == ["NOT_FOUND"]
    missing = _timeline(gql(story.mentor), story, type("L", (), {"pk": 999999}))
    assert missing["data"]["cohort"]["timeline"] is None
    assert missing["errors"][0]["message"] == body["errors"][0]["message"]


def test_timeline_of_another_cohort_is_not_found(story, other_world, gql):
    body = _timeline(gql(other_world.mentor), story, story.learners[0])
    assert body["data"] == {"cohort": None} and codes(body) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 201}, "BAD_USER_INPUT"),
        ({"first": 0}, "BAD_USER_INPUT"),
        ({"first": 501}, "QUERY_TOO_COMPLEX"),
        ({"before": 0}, "BAD_USER_INPUT"),
    ],
)
def test_timeline_limits(story, gql, variables, code):
    body = _timeline(gql(story.mentor), story, story.learners[0], **variables)
    assert body["data"]["cohort"]["timeline"] is None and codes(body) == [code]


def test_timeline_page_size_literal_over_the_cap_is_refused_before_running(story, gql):
    query = f"{{ cohort(id: {story.cohort.pk}) {{ timeline(learner: 1, first: 501) {{ next }} }} }}"
    response = gql(story.mentor).post(query)
    assert response.status_code == 400
    assert codes(response.json()) == ["QUERY_TOO_COMPLEX"]


def test_timeline_costs_three_queries_on_a_warm_bundle(story, gql, django_assert_num_queries):
    client = gql(story.mentor)
    _timeline(client, story, story.learners[0])
    # The JWT's user, the caller's role, the page of events (actors joined).
    with django_assert_num_queries(3):
        _timeline(client, story, story.learners[0])


# --------------------------------------------------------------------------------------
# A cell's history
# --------------------------------------------------------------------------------------


def _history(client, world, learner, slug: str = "python"):
    return client.run(HISTORY, {"id": world.cohort.pk, "learner": learner.pk, "milestone": slug})


def test_history_equals_rest_per_role(story, staff, gql, client_for):
    me, peer = story.learners[0], story.learners[1]
    for user, learner in (
        (story.mentor, me),
        (staff, me),
        (me.user, me),
        (me.user, peer),
        (peer.user, me),
    ):
        url = f"/api/cohorts/{story.cohort.pk}/progress/{learner.pk}/python/history/"
        rest = client_for(user).get(url).json()["results"]
        rows = _history(gql(user), story, learner)["data"]["cohort"]["progressHistory"]
        assert [{**_as_rest_event(r), "status": r["status"].lower()} for r in rows] == rest


def test_a_peers_history_has_no_scores(story, gql):
    me, peer = story.learners[0], story.learners[1]
    own = _history(gql(me.user), story, me)["data"]["cohort"]["progressHistory"]
    assert [r["score"] for r in own] == [70, None, None]
    seen = _history(gql(peer.user), story, me)["data"]["cohort"]["progressHistory"]
    assert [r["status"] for r in seen] == ["COMPLETED", "IN_PROGRESS", "NOT_STARTED"]
    assert all(r["score"] is None for r in seen)


def test_history_of_unknown_cell_or_cohort_is_not_found(story, other_world, gql):
    body = _history(gql(story.mentor), story, story.learners[0], "nope")
    assert body["data"]["cohort"]["progressHistory"] is None and codes(body) == ["NOT_FOUND"]
    foreign = _history(gql(other_world.mentor), story, story.learners[0])
    assert foreign["data"] == {"cohort": None} and codes(foreign) == ["NOT_FOUND"]


def test_history_costs_three_queries_on_a_warm_bundle(story, gql, django_assert_num_queries):
    client = gql(story.mentor)
    _history(client, story, story.learners[0])
    # The JWT's user, the caller's role, the cell's events (actors joined).
    with django_assert_num_queries(3):
        _history(client, story, story.learners[0])


# --------------------------------------------------------------------------------------
# The program overview (staff) and the caller's notification settings
# --------------------------------------------------------------------------------------


def test_staff_program_overview_equals_rest(story, other_world, staff, gql, client_for):
    rest = client_for(staff).get("/api/program/overview/").json()
    body = gql(staff).run(OVERVIEW)["data"]["programOverview"]
    assert [
        {
            "id": int(c["id"]),
            "name": c["name"],
            "week": c["week"],
            "completion": c["completion"],
            "expected_completion": c["expectedCompletion"],
            "on_track": c["onTrack"],
            "at_risk": c["atRisk"],
            "completion_by_week": c["completionByWeek"],
        }
        for c in body["cohorts"]
    ] == rest["cohorts"]
    assert [
        {"slug": m["slug"], "title": m["title"], "median_days_late": m["medianDaysLate"]}
        for m in body["slowestMilestones"]
    ] == rest["slowest_milestones"]


def test_program_overview_is_forbidden_to_mentors_and_learners(story, gql):
    for user in (story.mentor, story.learners[0].user):
        body = gql(user).run(OVERVIEW)
        assert body["data"] == {"programOverview": None} and codes(body) == ["FORBIDDEN"]
    both = gql(story.mentor).run("{ programOverview { cohorts { id } } me { id } }")
    assert both["data"] == {"programOverview": None, "me": {"id": str(story.mentor.pk)}}
    assert gql().post(OVERVIEW).status_code == 401


def test_program_overview_query_count(story, staff, gql, django_assert_num_queries):
    # The JWT's user, then cohorts, milestones, learners, cells, progress changes (REST's 6).
    client = gql(staff)
    with django_assert_num_queries(6):
        client.run(OVERVIEW)


def test_notifications_equal_rest_before_and_after_a_change(world, gql, client_for):
    for user in (world.mentor, world.learners[0].user):
        body = gql(user).run(NOTIFICATIONS)["data"]["me"]["notifications"]
        assert body == {"atRiskEmail": True, "dailyDigest": True}
    rest = client_for(world.mentor)
    changed = rest.patch("/api/me/notifications/", {"daily_digest": False}, format="json").json()
    body = gql(world.mentor).run(NOTIFICATIONS)["data"]["me"]["notifications"]
    assert body == {"atRiskEmail": changed["at_risk_email"], "dailyDigest": changed["daily_digest"]}
    assert body == {"atRiskEmail": True, "dailyDigest": False}
    # Another user's settings are theirs alone.
    other = gql(world.learners[0].user).run(NOTIFICATIONS)["data"]["me"]["notifications"]
    assert other["dailyDigest"] is True


def test_notifications_cost_two_queries(world, gql, django_assert_num_queries):
    # The JWT's user, the preferences row.
    client = gql(world.mentor)
    with django_assert_num_queries(2):
        client.run(NOTIFICATIONS)
