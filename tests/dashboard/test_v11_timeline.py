"""A learner's timeline and a cell's history, read from the event log; restore is a PATCH."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import Event, Progress
from dashboard.services.events import event_append
from dashboard.services.reactions import comment_add, kudos_add
from tests.factories import make_cohort


def _patch(client, world, learner, slug: str, **body):
    return client.patch(
        f"/api/cohorts/{world.cohort.pk}/progress/{learner.pk}/{slug}/", body, format="json"
    )


def _set(client, world, learner, slug: str, **body):
    version = Progress.objects.get(learner=learner, milestone__slug=slug).version
    response = _patch(client, world, learner, slug, version=version, **body)
    assert response.status_code == 200, response.json()
    return response.json()


def _timeline(world, learner, query: str = "") -> str:
    return f"/api/cohorts/{world.cohort.pk}/learners/{learner.pk}/timeline/{query}"


def _history(world, learner, slug: str) -> str:
    return f"/api/cohorts/{world.cohort.pk}/progress/{learner.pk}/{slug}/history/"


@pytest.fixture
def story(world, client_for):
    """Learner 0: python in progress then completed (kudos and a comment on it), at risk once;
    learner 1: one change of their own."""
    mentor = client_for(world.mentor)
    me, peer = world.learners[0], world.learners[1]
    _set(mentor, world, me, "python", status="in_progress")
    done = _set(mentor, world, me, "python", status="completed", score=70)
    kudos_add(actor=peer.user, cohort_id=world.cohort.pk, seq=done["seq"])
    comment_add(actor=world.mentor, cohort_id=world.cohort.pk, seq=done["seq"], text="Nice")
    _set(mentor, world, peer, "python", status="in_progress")
    from django.db import transaction

    with transaction.atomic():
        event_append(
            cohort_id=world.cohort.pk,
            kind=Event.Kind.LEARNER_AT_RISK,
            actor=None,
            data={"learner": {"id": me.pk, "name": "x"}, "reasons": ["Django was due"]},
        )
    return world


def test_timeline_has_every_event_about_the_learner_newest_first(story, client_for):
    body = client_for(story.mentor).get(_timeline(story, story.learner)).json()
    kinds = [event["kind"] for event in body["results"]]
    assert kinds == [
        "learner.at_risk",
        "comment.added",
        "kudos.added",
        "progress.updated",
        "progress.updated",
        "learner.added",
    ]
    seqs = [event["seq"] for event in body["results"]]
    assert seqs == sorted(seqs, reverse=True)
    assert body["next"] is None
    assert body["learner"]["id"] == story.learner.pk
    assert body["learner"]["completion"] == round(1 / 3, 4)
    assert body["learner"]["at_risk"] is True
    # The completed event carries its reactions' counts.
    assert body["results"][3]["kudos"] == 1 and body["results"][3]["comments"] == 1


def test_timeline_pages_with_before_and_next(story, client_for):
    client = client_for(story.mentor)
    first = client.get(_timeline(story, story.learner, "?limit=4")).json()
    assert len(first["results"]) == 4
    assert first["next"] == first["results"][-1]["seq"]
    rest = client.get(_timeline(story, story.learner, f"?limit=4&before={first['next']}")).json()
    assert [e["kind"] for e in rest["results"]] == ["progress.updated", "learner.added"]
    assert rest["next"] is None


@pytest.mark.parametrize("query", ["?limit=201", "?limit=0", "?before=x", "?before=0"])
def test_timeline_refuses_bad_paging(story, client_for, query):
    response = client_for(story.mentor).get(_timeline(story, story.learner, query))
    assert response.status_code == 400


def test_learner_reads_own_timeline_in_full(story, client_for):
    body = client_for(story.learner.user).get(_timeline(story, story.learner)).json()
    assert body["results"][0]["kind"] == "learner.at_risk"
    assert body["learner"]["risk_reasons"]


def test_peer_learner_timeline_is_404(story, client_for):
    response = client_for(story.learners[1].user).get(_timeline(story, story.learner))
    assert response.status_code == 404


def test_timeline_is_404_for_outsiders_other_mentors_and_unknown_learners(
    story, other_world, outsider, client_for
):
    assert client_for(outsider).get(_timeline(story, story.learner)).status_code == 404
    assert client_for(other_world.mentor).get(_timeline(story, story.learner)).status_code == 404
    other = other_world.learner
    assert client_for(story.mentor).get(_timeline(story, other)).status_code == 404
    assert client_for().get(_timeline(story, story.learner)).status_code == 401


def test_staff_reads_any_timeline(story, staff, client_for):
    assert client_for(staff).get(_timeline(story, story.learner)).status_code == 200


@pytest.mark.parametrize("learners", [40, 400])
def test_timeline_query_count_is_pinned(db, client_for, learners):
    world = make_cohort(learners=learners)
    client = client_for(world.mentor)
    for learner in world.learners[:5]:
        _set(client, world, learner, "python", status="in_progress")
    assert client.get(_timeline(world, world.learner)).status_code == 200  # warm bundle
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(_timeline(world, world.learner))
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2
    # The JWT's user, the role, the page of events (actors joined).
    assert len(ctx.captured_queries) == 3


def test_timeline_reads_the_learner_index(story):
    events = Event.objects.filter(cohort_id=story.cohort.pk, learner_id=story.learner.pk)
    assert events.count() == 6
    reactions = events.filter(kind__in=["kudos.added", "comment.added"])
    assert reactions.count() == 2  # a reaction belongs to the learner of its target


# --------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------


def test_history_lists_each_version_newest_first(story, client_for):
    results = (
        client_for(story.mentor).get(_history(story, story.learner, "python")).json()["results"]
    )
    assert [(r["version"], r["status"], r["score"]) for r in results] == [
        (3, "completed", 70),
        (2, "in_progress", None),
        (1, "not_started", None),
    ]
    assert results[0]["actor"]["id"] == story.mentor.pk
    assert results[-1]["seq"] < results[0]["seq"]


def test_history_of_a_peer_cell_has_no_scores_for_learners(story, client_for):
    peer = client_for(story.learners[1].user)
    results = peer.get(_history(story, story.learner, "python")).json()["results"]
    assert [r["status"] for r in results] == ["completed", "in_progress", "not_started"]
    assert all(r["score"] is None for r in results)
    own = client_for(story.learner.user).get(_history(story, story.learner, "python")).json()
    assert own["results"][0]["score"] == 70


def test_history_is_404_for_unknown_cells_and_outsiders(story, other_world, client_for):
    mentor = client_for(story.mentor)
    assert mentor.get(_history(story, story.learner, "nope")).status_code == 404
    assert mentor.get(_history(story, other_world.learner, "python")).status_code == 404
    assert (
        client_for(other_world.mentor).get(_history(story, story.learner, "python")).status_code
        == 404
    )


def test_history_query_count_is_pinned(story, client_for):
    client = client_for(story.mentor)
    client.get(_history(story, story.learner, "python"))
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(_history(story, story.learner, "python")).status_code == 200
    assert len(ctx.captured_queries) == 3


def test_restoring_a_previous_version_is_one_new_event(story, client_for):
    mentor = client_for(story.mentor)
    _set(mentor, story, story.learner, "python", score=20)  # overwrites the 70
    before = Event.objects.filter(cohort=story.cohort).count()
    old = mentor.get(_history(story, story.learner, "python")).json()["results"][1]
    current = mentor.get(_history(story, story.learner, "python")).json()["results"][0]
    response = _patch(
        mentor,
        story,
        story.learner,
        "python",
        status=old["status"],
        score=old["score"],
        version=current["version"],
    )
    assert response.status_code == 200
    assert response.json()["score"] == 70
    assert Event.objects.filter(cohort=story.cohort).count() == before + 1
    latest = mentor.get(_history(story, story.learner, "python")).json()["results"][0]
    assert (latest["score"], latest["version"]) == (70, current["version"] + 1)


def test_restoring_with_a_stale_version_is_a_409(story, client_for):
    mentor = client_for(story.mentor)
    versions = mentor.get(_history(story, story.learner, "python")).json()["results"]
    _set(mentor, story, story.learner, "python", score=20)  # someone else's edit lands first
    before = Event.objects.filter(cohort=story.cohort).count()
    response = _patch(
        mentor,
        story,
        story.learner,
        "python",
        status="in_progress",
        score=None,
        version=versions[0]["version"],
    )
    assert response.status_code == 409
    assert response.json()["current"]["score"] == 20
    assert Event.objects.filter(cohort=story.cohort).count() == before


def test_migration_backfills_the_learner_of_old_events(story):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("dashboard.migrations.0003_event_learner_notifications")
    expected = dict(Event.objects.values_list("pk", "learner_id"))
    Event.objects.update(learner_id=None)
    migration.backfill_event_learner(apps, None)
    assert dict(Event.objects.values_list("pk", "learner_id")) == expected
