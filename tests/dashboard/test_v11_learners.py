"""GET /api/cohorts/{id}/learners/: the snapshot's learner entries, filtered, per role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import Progress
from dashboard.selectors.learners import name_key
from dashboard.services.progress import progress_update
from tests.factories import make_cohort


def _url(world, query: str = "") -> str:
    return f"/api/cohorts/{world.cohort.pk}/learners/{query}"


def _complete(world, learner, slug: str, score: int = 80) -> None:
    cell = Progress.objects.get(learner=learner, milestone__slug=slug)
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=learner.pk,
        milestone_slug=slug,
        version=cell.version,
        status="completed",
        score=score,
    )


@pytest.fixture
def graded(world):
    """Learner 0 completed python and django (on track); learners 1 and 2 are overdue."""
    for slug in ("python", "django"):
        _complete(world, world.learners[0], slug)
    return world


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_mentor_lists_every_learner_with_progress(graded, client_for):
    body = client_for(graded.mentor).get(_url(graded)).json()
    assert [row["id"] for row in body["results"]] == [m.pk for m in graded.learners]
    assert set(body["results"][0]["progress"]) == {"python", "django", "docker"}
    assert body["results"][0]["progress"]["python"]["score"] == 80


def test_mentor_filters_at_risk_only(graded, client_for):
    client = client_for(graded.mentor)
    late = [m.pk for m in graded.learners[1:]]
    assert _ids(client.get(_url(graded, "?at_risk=true"))) == late
    assert _ids(client.get(_url(graded, "?at_risk=false"))) == [graded.learners[0].pk]


def test_overdue_filter_splits_late_from_on_time(graded, client_for):
    client = client_for(graded.mentor)
    assert _ids(client.get(_url(graded, "?overdue=true"))) == [m.pk for m in graded.learners[1:]]
    assert _ids(client.get(_url(graded, "?overdue=false"))) == [graded.learners[0].pk]


def test_milestone_and_status_filter_on_one_cell(graded, client_for):
    client = client_for(graded.mentor)
    done = _ids(client.get(_url(graded, "?milestone=django&status=completed")))
    assert done == [graded.learners[0].pk]
    waiting = _ids(client.get(_url(graded, "?milestone=django&status=not_started")))
    assert waiting == [m.pk for m in graded.learners[1:]]


def test_filters_combine(graded, client_for):
    response = client_for(graded.mentor).get(
        _url(graded, "?overdue=true&milestone=python&status=completed")
    )
    assert _ids(response) == []


def test_search_ignores_case_and_accents(world, client_for):
    user = get_user_model().objects.get(pk=world.learners[1].user_id)
    user.first_name, user.last_name = "Zoë", "Ångström"
    user.save()
    client = client_for(world.mentor)
    assert _ids(client.get(_url(world, "?search=ZOE"))) == [world.learners[1].pk]
    assert _ids(client.get(_url(world, "?search=angstr"))) == [world.learners[1].pk]
    assert _ids(client.get(_url(world, "?search=nobody"))) == []


def test_name_key_folds_compatibility_forms():
    fullwidth = "\uff25\uff4c\uff49\uff53\uff45 M\u00fcller"  # "Elise Müller", full width
    assert name_key(fullwidth) == name_key("elise muller")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?at_risk=yes", "at_risk"),
        ("?at_risk=1", "at_risk"),
        ("?overdue=maybe", "overdue"),
        ("?milestone=nope&status=completed", "milestone"),
        ("?milestone=python&status=done", "status"),
        ("?milestone=python", "status"),
        ("?status=completed", "milestone"),
        ("?at_risk=true&at_risk=false", "at_risk"),
    ],
)
def test_bad_filters_are_400_with_the_field(world, client_for, query, field):
    response = client_for(world.mentor).get(_url(world, query))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_learner_may_not_filter_by_risk(world, client_for):
    response = client_for(world.learner.user).get(_url(world, "?at_risk=true"))
    assert response.status_code == 400
    assert "at_risk" in response.json()["error"]["fields"]


def test_learner_sees_peers_statuses_but_not_their_scores_or_risk(graded, client_for):
    _complete(graded, graded.learners[1], "python", score=55)
    me = graded.learners[1]
    rows = client_for(me.user).get(_url(graded)).json()["results"]
    own = next(row for row in rows if row["id"] == me.pk)
    peer = next(row for row in rows if row["id"] == graded.learners[0].pk)
    assert own["progress"]["python"]["score"] == 55
    assert own["at_risk"] is True and own["risk_reasons"]
    assert peer["progress"]["python"]["status"] == "completed"
    assert peer["progress"]["python"]["score"] is None
    assert peer["at_risk"] is None and peer["risk_reasons"] == []


def test_learner_may_filter_by_overdue_and_cell(graded, client_for):
    response = client_for(graded.learners[2].user).get(
        _url(graded, "?milestone=django&status=completed")
    )
    assert _ids(response) == [graded.learners[0].pk]


def test_staff_sees_every_cohort(world, staff, client_for):
    assert len(_ids(client_for(staff).get(_url(world)))) == 3


def test_outsiders_and_other_mentors_get_404(world, other_world, outsider, client_for):
    assert client_for(outsider).get(_url(world)).status_code == 404
    assert client_for(other_world.mentor).get(_url(world)).status_code == 404
    assert client_for(world.mentor).get("/api/cohorts/999999/learners/").status_code == 404


def test_anonymous_gets_401(world, client_for):
    assert client_for().get(_url(world)).status_code == 401


@pytest.mark.parametrize("learners", [40, 400])
def test_a_warm_filter_costs_two_queries_whatever_the_size(db, client_for, learners):
    world = make_cohort(learners=learners)
    client = client_for(world.mentor)
    assert client.get(_url(world)).status_code == 200  # warms the snapshot bundle
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(_url(world, "?overdue=true&search=learner"))
    assert response.status_code == 200
    assert len(response.json()["results"]) == learners
    # The JWT's user and the caller's role; the rows come from the cached snapshot bundle.
    assert len(ctx.captured_queries) == 2


def test_a_new_write_is_seen_by_the_next_filter(world, client_for):
    client = client_for(world.mentor)
    assert _ids(client.get(_url(world, "?milestone=python&status=completed"))) == []
    _complete(world, world.learners[2], "python")
    assert _ids(client.get(_url(world, "?milestone=python&status=completed"))) == [
        world.learners[2].pk
    ]


def test_inactivity_counts_as_risk_but_not_as_overdue(world, client_for):
    week_ago = Progress.objects.first().updated_at - timedelta(days=30)  # type: ignore[union-attr]
    Progress.objects.filter(learner=world.learner).update(updated_at=week_ago)
    for slug in ("python", "django"):
        Progress.objects.filter(learner=world.learner, milestone__slug=slug).update(
            status="submitted"
        )
    client = client_for(world.mentor)
    assert world.learner.pk in _ids(client.get(_url(world, "?at_risk=true")))
    assert world.learner.pk in _ids(client.get(_url(world, "?overdue=false")))
