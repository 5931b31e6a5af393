"""Progress writes: the roles and transitions of product.md, optimistic concurrency, and
refused writes that leave nothing behind."""

import pytest

from dashboard.models import Event, Progress


def url(world, learner=None, slug="python"):
    learner = learner or world.learner
    return f"/api/cohorts/{world.cohort.pk}/progress/{learner.pk}/{slug}/"


def cell(world, learner=None, slug="python"):
    learner = learner or world.learner
    return Progress.objects.get(learner=learner, milestone__slug=slug)


def patch(client, path, body):
    return client.patch(path, body, format="json")


def test_mentor_completes_a_milestone_with_a_score(world, client_for):
    response = patch(
        client_for(world.mentor), url(world), {"status": "completed", "score": 92, "version": 1}
    )
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "learner": world.learner.pk,
        "milestone": "python",
        "status": "completed",
        "score": 92,
        "version": 2,
        "updated_at": body["updated_at"],
        "seq": 4,
    }
    event = Event.objects.get(cohort=world.cohort, seq=4)
    assert event.kind == "progress.updated"
    assert event.actor == world.mentor
    assert event.data == {
        "learner": {"id": world.learner.pk, "name": "Learner 0"},
        "milestone": "python",
        "status": "completed",
        "previous_status": "not_started",
        "score": 92,
        "version": 2,
    }
    assert cell(world).completed_at is not None


def test_every_accepted_write_appends_exactly_one_event(world, client_for):
    before = Event.objects.filter(cohort=world.cohort).count()
    patch(client_for(world.mentor), url(world), {"status": "in_progress", "version": 1})
    assert Event.objects.filter(cohort=world.cohort).count() == before + 1
    world.cohort.refresh_from_db()
    assert world.cohort.head_seq == before + 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (["in_progress", "submitted", "in_progress", "submitted"], "submitted"),
        (["in_progress"], "in_progress"),
    ],
)
def test_learner_moves_own_progress_along_the_allowed_path(world, client_for, path, expected):
    client = client_for(world.learner.user)
    for version, status in enumerate(path, start=1):
        response = patch(client, url(world), {"status": status, "version": version})
        assert response.status_code == 200, response.json()
    assert cell(world).status == expected


def test_learner_cannot_mark_own_milestone_completed(world, client_for):
    client = client_for(world.learner.user)
    patch(client, url(world), {"status": "in_progress", "version": 1})
    patch(client, url(world), {"status": "submitted", "version": 2})
    response = patch(client, url(world), {"status": "completed", "version": 3})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "transition_not_allowed"
    assert cell(world).status == "submitted"


@pytest.mark.parametrize(
    ("start", "target"),
    [("not_started", "submitted"), ("in_progress", "not_started"), ("submitted", "not_started")],
)
def test_learner_cannot_skip_or_reset_steps(world, client_for, start, target):
    Progress.objects.filter(pk=cell(world).pk).update(status=start)
    response = patch(client_for(world.learner.user), url(world), {"status": target, "version": 1})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "transition_not_allowed"


def test_learner_cannot_reopen_a_completed_milestone(world, client_for):
    patch(client_for(world.mentor), url(world), {"status": "completed", "score": 80, "version": 1})
    response = patch(
        client_for(world.learner.user), url(world), {"status": "in_progress", "version": 2}
    )
    assert response.status_code == 400


def test_learner_cannot_set_a_score(world, client_for):
    response = patch(
        client_for(world.learner.user),
        url(world),
        {"status": "in_progress", "score": 50, "version": 1},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "score_not_allowed"


def test_learner_cannot_change_another_learners_progress(world, client_for):
    other = world.learners[1]
    response = patch(
        client_for(world.learner.user),
        url(world, learner=other),
        {"status": "in_progress", "version": 1},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_mentor_reopens_a_completed_milestone_and_the_score_is_cleared(world, client_for):
    client = client_for(world.mentor)
    patch(client, url(world), {"status": "completed", "score": 70, "version": 1})
    response = patch(client, url(world), {"status": "in_progress", "version": 2})
    assert response.status_code == 200
    assert response.json()["score"] is None
    assert cell(world).completed_at is None


def test_mentor_rescores_a_completed_milestone(world, client_for):
    client = client_for(world.mentor)
    patch(client, url(world), {"status": "completed", "score": 70, "version": 1})
    response = patch(client, url(world), {"score": 75, "version": 2})
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["score"] == 75


def test_staff_may_change_any_cohort(world, staff, client_for):
    response = patch(
        client_for(staff), url(world), {"status": "completed", "score": 100, "version": 1}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"status": "completed", "version": 1}, "score_required"),
        ({"status": "in_progress", "score": 10, "version": 1}, "score_not_allowed"),
    ],
)
def test_mentor_scores_only_completed_milestones(world, client_for, body, code):
    response = patch(client_for(world.mentor), url(world), body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_stale_version_is_409_with_the_current_state(world, client_for):
    client = client_for(world.mentor)
    patch(client, url(world), {"status": "in_progress", "version": 1})
    response = patch(client, url(world), {"status": "submitted", "version": 1})
    assert response.status_code == 409
    body = response.json()
    assert body["error"]["code"] == "version_conflict"
    assert body["current"]["status"] == "in_progress"
    assert body["current"]["version"] == 2
    assert body["current"]["learner"] == world.learner.pk


def test_a_write_that_changes_nothing_appends_no_event(world, client_for):
    before = Event.objects.count()
    response = patch(client_for(world.mentor), url(world), {"status": "not_started", "version": 1})
    assert response.status_code == 200
    assert response.json()["seq"] is None
    assert response.json()["version"] == 1
    assert Event.objects.count() == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"version": 1},
        {"status": "done", "version": 1},
        {"status": "in_progress"},
        {"status": "in_progress", "version": "one"},
        {"status": "in_progress", "version": 0},
        {"status": "in_progress", "version": 10**40},
        {"status": "in_progress", "version": 1.5},
        {"status": "completed", "score": 101, "version": 1},
        {"status": "completed", "score": -1, "version": 1},
        {"status": "completed", "score": "high", "version": 1},
        {"status": "completed", "score": True, "version": 1},
        {"status": ["in_progress"], "version": 1},
        {"status": None, "version": 1},
        {"status": "in_progress", "version": 1, "extra": "field"},
    ],
)
def test_malformed_bodies_are_400_and_leave_nothing_behind(world, client_for, body):
    events = Event.objects.count()
    response = patch(client_for(world.mentor), url(world), body)
    assert response.status_code == 400, response.json()
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert Event.objects.count() == events
    assert cell(world).version == 1


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b"{", b"[" * 50000, b"NaN"])
def test_non_object_json_bodies_are_400(world, client_for, raw):
    response = client_for(world.mentor).generic(
        "PATCH", url(world), raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert Event.objects.filter(kind="progress.updated").count() == 0


def test_an_oversized_body_is_413(world, client_for):
    big = b'{"status": "in_progress", "version": 1, "pad": "' + b"x" * 70_000 + b'"}'
    response = client_for(world.mentor).generic(
        "PATCH", url(world), big, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_non_json_content_type_is_415(world, client_for):
    response = client_for(world.mentor).generic(
        "PATCH", url(world), b"status=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


@pytest.mark.parametrize("who", ["unknown_learner", "unknown_milestone", "learner_of_other"])
def test_unknown_targets_are_404(world, other_world, client_for, who):
    path = {
        "unknown_learner": f"/api/cohorts/{world.cohort.pk}/progress/999999/python/",
        "unknown_milestone": url(world, slug="kubernetes"),
        "learner_of_other": url(world, learner=other_world.learner),
    }[who]
    response = patch(client_for(world.mentor), path, {"status": "in_progress", "version": 1})
    assert response.status_code == 404


def test_mentor_of_another_cohort_gets_404(world, other_world, client_for):
    response = patch(
        client_for(other_world.mentor), url(world), {"status": "in_progress", "version": 1}
    )
    assert response.status_code == 404


def test_get_on_a_write_endpoint_is_405_with_the_error_shape(world, client_for):
    response = client_for(world.mentor).get(url(world))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_unknown_api_path_is_a_json_404(db, client_for):
    response = client_for(None).get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_api_path_is_a_json_404_with_debug_on(db, client_for, settings):
    settings.DEBUG = True
    response = client_for(None).get("/api/cohorts/1/nothing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_api_path_with_a_newline_is_a_json_404_with_debug_on(db, client_for, settings):
    settings.DEBUG = True
    response = client_for(None).patch("/api/cohorts/1/progress/7/a%0Ab/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
