"""Privacy by role over REST: a learner sees peers' statuses, never their score or risk."""

from __future__ import annotations

import copy

import pytest

from dashboard.models import Membership
from dashboard.selectors.privacy import (
    Viewer,
    event_for,
    learner_row_for,
    viewer_for,
)
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add
from dashboard.services.reports import at_risk_update, daily_digest_append

pytestmark = pytest.mark.django_db


def complete(world, learner: Membership, slug: str, score: int) -> None:
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=learner.pk,
        milestone_slug=slug,
        version=1,
        status="completed",
        score=score,
    )


@pytest.fixture
def scored(world):
    """Learner 0 scored 90 and learner 1 scored 70 on python; all three are at risk
    (django was due last week), with their ``learner.at_risk`` events."""
    complete(world, world.learners[0], "python", 90)
    complete(world, world.learners[1], "python", 70)
    at_risk_update(cohort_id=world.cohort.pk)  # learner 2: python was due last week
    return world


def snapshot_as(client_for, user, world) -> dict:
    response = client_for(user).get(f"/api/cohorts/{world.cohort.pk}/snapshot/")
    assert response.status_code == 200
    return response.json()


def events_as(client_for, user, world) -> list[dict]:
    response = client_for(user).get(f"/api/cohorts/{world.cohort.pk}/events/?after=0&limit=500")
    assert response.status_code == 200
    return response.json()["results"]


# --------------------------------------------------------------------------------------
# The snapshot
# --------------------------------------------------------------------------------------


def test_a_learners_snapshot_never_carries_a_peers_score_or_risk(scored, client_for):
    me = scored.learners[0]
    body = snapshot_as(client_for, me.user, scored)
    peers = [row for row in body["learners"] if row["id"] != me.pk]
    assert len(peers) == 2
    for row in peers:
        assert row["at_risk"] is None
        assert row["risk_reasons"] == []
        assert all(cell["score"] is None for cell in row["progress"].values())
    # Their statuses are still there.
    assert {row["id"]: row["progress"]["python"]["status"] for row in peers} == {
        scored.learners[1].pk: "completed",
        scored.learners[2].pk: "not_started",
    }


def test_a_learner_sees_their_own_entry_in_full(scored, client_for):
    me = scored.learners[2]
    body = snapshot_as(client_for, me.user, scored)
    mine = next(row for row in body["learners"] if row["id"] == me.pk)
    assert mine["at_risk"] is True
    assert mine["risk_reasons"] and "Python" in mine["risk_reasons"][0]
    scorer = scored.learners[0]
    own = next(
        r for r in snapshot_as(client_for, scorer.user, scored)["learners"] if r["id"] == scorer.pk
    )
    assert own["progress"]["python"]["score"] == 90


def test_cohort_counts_stay_visible_to_learners(scored, client_for):
    as_learner = snapshot_as(client_for, scored.learners[0].user, scored)["stats"]
    as_mentor = snapshot_as(client_for, scored.mentor, scored)["stats"]
    assert as_learner == as_mentor
    assert as_learner["at_risk"] == 3


@pytest.mark.parametrize("who", ["mentor", "staff"])
def test_mentors_and_staff_see_every_score_and_risk(scored, staff, client_for, who):
    user = scored.mentor if who == "mentor" else staff
    body = snapshot_as(client_for, user, scored)
    rows = {row["id"]: row for row in body["learners"]}
    assert rows[scored.learners[1].pk]["progress"]["python"]["score"] == 70
    assert rows[scored.learners[2].pk]["at_risk"] is True
    assert rows[scored.learners[2].pk]["risk_reasons"]
    assert all(row["at_risk"] is not None for row in rows.values())
    kinds = [e["kind"] for e in body["feed"]]
    assert "learner.at_risk" in kinds and "hidden" not in kinds


def test_a_learners_snapshot_feed_is_redacted(scored, client_for):
    me = scored.learners[0]
    feed = snapshot_as(client_for, me.user, scored)["feed"]
    own_risk = [e for e in feed if e["kind"] == "learner.at_risk"]
    assert [e["data"]["learner"]["id"] for e in own_risk] == [me.pk]
    hidden = [e for e in feed if e["kind"] == "hidden"]
    assert len(hidden) == 2
    assert all(e["actor"] is None and e["data"] == {} for e in hidden)
    for event in feed:
        if event["kind"] == "progress.updated":
            expected = 90 if event["data"]["learner"]["id"] == me.pk else None
            assert event["data"]["score"] == expected


def test_the_cached_snapshot_is_shared_and_redacted_per_caller(scored, client_for):
    """A learner's call after a mentor's (the cache warm) is still redacted, and back."""
    peer = scored.learners[1].pk
    first = snapshot_as(client_for, scored.mentor, scored)
    second = snapshot_as(client_for, scored.learners[0].user, scored)
    third = snapshot_as(client_for, scored.mentor, scored)
    assert (
        next(r for r in first["learners"] if r["id"] == peer)["progress"]["python"]["score"] == 70
    )
    assert next(r for r in second["learners"] if r["id"] == peer)["at_risk"] is None
    assert third == {**first, "generated_at": third["generated_at"], "presence": third["presence"]}


# --------------------------------------------------------------------------------------
# Event pages
# --------------------------------------------------------------------------------------


def test_event_pages_for_a_learner_redact_peers_and_keep_seq_gap_free(scored, client_for):
    me = scored.learners[0]
    events = events_as(client_for, me.user, scored)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    hidden_seqs = [
        e["seq"]
        for e in events_as(client_for, scored.mentor, scored)
        if e["kind"] == "learner.at_risk" and e["data"]["learner"]["id"] != me.pk
    ]
    assert hidden_seqs
    for event in events:
        if event["seq"] in hidden_seqs:
            assert event == {
                "seq": event["seq"],
                "kind": "hidden",
                "at": event["at"],
                "actor": None,
                "data": {},
                "kudos": 0,
                "comments": 0,
            }
        elif event["kind"] == "progress.updated" and event["data"]["learner"]["id"] != me.pk:
            assert event["data"]["score"] is None


def test_a_learner_sees_their_own_risk_events(scored, client_for):
    me = scored.learners[2]
    events = events_as(client_for, me.user, scored)
    risk = [e for e in events if e["kind"] == "learner.at_risk"]
    assert len(risk) == 1 and risk[0]["data"]["learner"]["id"] == me.pk
    assert risk[0]["data"]["reasons"]


def test_mentor_event_pages_are_complete(scored, client_for):
    events = events_as(client_for, scored.mentor, scored)
    scores = [e["data"]["score"] for e in events if e["kind"] == "progress.updated"]
    assert scores == [90, 70]


# --------------------------------------------------------------------------------------
# The rule itself
# --------------------------------------------------------------------------------------


def test_viewer_for_knows_roles_and_hides_cohorts_from_outsiders(
    world, other_world, staff, outsider
):
    cohort = world.cohort.pk
    learner = world.learners[1]
    assert viewer_for(user=learner.user, cohort_id=cohort) == Viewer(
        user_id=learner.user_id, sees_all=False, learner_id=learner.pk
    )
    assert viewer_for(user=world.mentor, cohort_id=cohort) == Viewer(
        user_id=world.mentor.pk, sees_all=True, learner_id=None
    )
    assert viewer_for(user=staff, cohort_id=cohort).sees_all is True
    assert viewer_for(user=staff, cohort_id=999_999) is None
    assert viewer_for(user=outsider, cohort_id=cohort) is None
    assert viewer_for(user=other_world.mentor, cohort_id=cohort) is None


def test_redaction_never_mutates_its_input():
    viewer = Viewer(user_id=1, sees_all=False, learner_id=5)
    row = {
        "id": 6,
        "progress": {"python": {"status": "completed", "score": 80}},
        "at_risk": True,
        "risk_reasons": ["x"],
    }
    event = {
        "seq": 4,
        "kind": "progress.updated",
        "at": "t",
        "actor": None,
        "data": {"learner": {"id": 6}, "score": 80},
        "kudos": 0,
        "comments": 0,
    }
    before = copy.deepcopy((row, event))
    assert learner_row_for(row, viewer)["progress"]["python"]["score"] is None
    assert event_for(event, viewer)["data"]["score"] is None
    assert (row, event) == before


def test_a_daily_digest_names_nobody_at_risk_and_no_score_for_learners(scored):
    digest = daily_digest_append(cohort_id=scored.cohort.pk, day=scored.cohort.start_date)
    payload = {
        "seq": digest.seq,
        "kind": "report.daily",
        "at": "t",
        "actor": None,
        "data": {
            **digest.data,
            "completed": [{"learner": {"id": 1}, "milestone": "python", "score": 90}],
            "newly_at_risk": [{"learner": {"id": 3}, "reasons": ["late"]}],
            "newly_at_risk_count": 1,
        },
    }
    learner = Viewer(user_id=1, sees_all=False, learner_id=1)
    seen = event_for(payload, learner)["data"]
    assert seen["completed"][0]["score"] is None
    assert seen["newly_at_risk"] == [] and seen["newly_at_risk_count"] == 1
    assert event_for(payload, Viewer(user_id=2, sees_all=True, learner_id=None)) is payload


def test_reactions_pass_unchanged(scored):
    comment_add(actor=scored.mentor, cohort_id=scored.cohort.pk, seq=1, text="welcome")
    payload = {"seq": 9, "kind": "comment.added", "data": {"event": 1, "text": "welcome"}}
    assert event_for(payload, Viewer(user_id=1, sees_all=False, learner_id=1)) is payload
