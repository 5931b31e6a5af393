"""Cohort list, snapshot and event paging: shapes, visibility, and bad parameters."""

import re

import pytest

from dashboard.services.progress import progress_update

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_cohort_list_shows_only_the_callers_cohorts(world, other_world, client_for):
    body = client_for(world.mentor).get("/api/cohorts/").json()
    assert [c["id"] for c in body] == [world.cohort.pk]
    assert body[0]["learner_count"] == 3
    assert body[0]["completion"] == 0.0
    assert body[0]["program"] == world.cohort.program.name


def test_staff_see_every_cohort(world, other_world, staff, client_for):
    body = client_for(staff).get("/api/cohorts/").json()
    assert [c["id"] for c in body] == [world.cohort.pk, other_world.cohort.pk]


def test_cohort_list_completion_counts_completed_cells(world, client_for):
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=world.learner.pk,
        milestone_slug="python",
        version=1,
        status="completed",
        score=90,
    )
    body = client_for(world.mentor).get("/api/cohorts/").json()
    assert body[0]["completion"] == round(1 / 9, 4)


def test_snapshot_lists_every_milestone_of_every_learner(world, client_for):
    body = client_for(world.learner.user).get(f"/api/cohorts/{world.cohort.pk}/snapshot/").json()
    assert set(body) >= {"cohort", "milestones", "learners", "stats", "feed", "seq", "presence"}
    assert [m["slug"] for m in body["milestones"]] == ["python", "django", "docker"]
    assert body["milestones"][0] == {
        "slug": "python",
        "title": "Python",
        "order": 1,
        "week": 1,
        "due_date": body["milestones"][0]["due_date"],
    }
    assert len(body["learners"]) == 3
    for learner in body["learners"]:
        assert set(learner["progress"]) == {"python", "django", "docker"}
        cell = learner["progress"]["python"]
        assert cell["status"] == "not_started" and cell["version"] == 1 and cell["score"] is None
        assert ISO_MS.match(cell["updated_at"])
    assert body["seq"] == 3  # three learner.added events
    assert [e["seq"] for e in body["feed"]] == [3, 2, 1]  # newest first
    assert body["stats"]["by_milestone"]["python"] == {
        "not_started": 3,
        "in_progress": 0,
        "submitted": 0,
        "completed": 0,
    }


def test_snapshot_feed_is_capped_at_fifty(world, client_for):
    for i in range(30):
        progress_update(
            actor=world.mentor,
            cohort_id=world.cohort.pk,
            learner_id=world.learner.pk,
            milestone_slug="python",
            version=1 + 2 * i,
            status="in_progress",
        )
        progress_update(
            actor=world.mentor,
            cohort_id=world.cohort.pk,
            learner_id=world.learner.pk,
            milestone_slug="python",
            version=2 + 2 * i,
            status="not_started",
        )
    body = client_for(world.mentor).get(f"/api/cohorts/{world.cohort.pk}/snapshot/").json()
    assert len(body["feed"]) == 50
    assert body["feed"][0]["seq"] == body["seq"] == 63


@pytest.mark.parametrize("who", ["outsider", "other_mentor", "other_learner"])
def test_cohorts_of_others_are_404_exactly_like_missing_ones(
    world, other_world, outsider, who, client_for
):
    user = {
        "outsider": outsider,
        "other_mentor": other_world.mentor,
        "other_learner": other_world.learner.user,
    }[who]
    client = client_for(user)
    for suffix in ("snapshot/", "events/"):
        hidden = client.get(f"/api/cohorts/{world.cohort.pk}/{suffix}")
        missing = client.get(f"/api/cohorts/999999/{suffix}")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == missing.json()


def test_events_page_after_a_seq_oldest_first(world, client_for):
    body = client_for(world.mentor).get(f"/api/cohorts/{world.cohort.pk}/events/?after=1").json()
    assert [e["seq"] for e in body["results"]] == [2, 3]
    assert body["head"] == 3
    event = body["results"][0]
    assert event["kind"] == "learner.added"
    assert event["actor"] == {"id": world.mentor.pk, "name": "Mentor Person"}
    assert ISO_MS.match(event["at"])
    assert set(event["data"]["progress"]) == {"python", "django", "docker"}
    learner = world.learners[1]
    assert event["data"]["learner"] == {
        "id": learner.pk,
        "name": "Learner 1",
        "user": learner.user_id,
    }


def test_events_limit_caps_the_page(world, client_for):
    body = client_for(world.mentor).get(f"/api/cohorts/{world.cohort.pk}/events/?limit=2").json()
    assert [e["seq"] for e in body["results"]] == [1, 2]
    assert body["head"] == 3


@pytest.mark.parametrize(
    "query",
    [
        "after=-1",
        "after=abc",
        "limit=0",
        "limit=501",
        "limit=x",
        "after=1e9999",
        "after=99999999999999999999999999",
    ],
)
def test_bad_event_paging_parameters_are_400(world, client_for, query):
    response = client_for(world.mentor).get(f"/api/cohorts/{world.cohort.pk}/events/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_huge_path_ids_are_404_not_a_server_error(world, client_for):
    response = client_for(world.mentor).get("/api/cohorts/99999999999999999999999999/snapshot/")
    assert response.status_code == 404


def test_a_query_parameter_given_twice_is_400(world, client_for):
    response = client_for(world.mentor).get(
        f"/api/cohorts/{world.cohort.pk}/events/?limit=1&limit=500"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"limit": ["Given more than once."]}


@pytest.mark.parametrize("query", ["after=", "limit=", "after=&limit=5"])
def test_an_empty_query_parameter_is_400_not_the_default(world, client_for, query):
    response = client_for(world.mentor).get(f"/api/cohorts/{world.cohort.pk}/events/?{query}")
    assert response.status_code == 400
