"""The demo data and the simulator."""

import random

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from dashboard.demo import MILESTONES, seed_demo
from dashboard.models import Cohort, Event, Membership, Milestone
from dashboard.selectors.cohorts import cohort_snapshot, events_after
from dashboard.simulator import simulate_step
from tests.statejs import empty_snapshot, grid, replay, requires_node


def _replay_from_zero(cohort_id: int) -> dict:
    """Replay the cohort's whole event log with the page's own applyEvent (state.js)."""
    events, after = [], 0
    while True:
        page, head = events_after(cohort_id=cohort_id, after=after, limit=500)
        events.extend(page)
        if not page or page[-1]["seq"] == head:
            break
        after = page[-1]["seq"]
    result = replay(empty_snapshot(cohort_snapshot(cohort_id=cohort_id)), [events])
    assert (result.applied, result.duplicates, result.gaps) == (len(events), 0, 0)
    return result.state


@pytest.fixture
def seeded(db):
    assert seed_demo() is True
    return list(Cohort.objects.order_by("id"))


def test_seed_creates_the_program_cohorts_and_logins(seeded):
    assert [m.slug for m in Milestone.objects.order_by("order")] == [m[0] for m in MILESTONES]
    assert len(seeded) == 2
    for cohort in seeded:
        assert cohort.memberships.filter(role="learner").count() == 40
    for name in ("admin", "mentor", "mentor2", "learner"):
        assert authenticate(username=name, password=name) is not None
    assert authenticate(username="admin", password="admin").is_staff
    roles = {
        (m.user.username, m.cohort_id, m.role)
        for m in Membership.objects.filter(
            user__username__in=["mentor", "mentor2", "learner"]
        ).select_related("user")
    }
    assert roles == {
        ("mentor", seeded[0].pk, "mentor"),
        ("mentor2", seeded[1].pk, "mentor"),
        ("learner", seeded[0].pk, "learner"),
    }


def test_seeded_progress_is_varied_and_believable(seeded):
    snapshot = cohort_snapshot(cohort_id=seeded[0].pk)
    assert 0.2 < snapshot["stats"]["completion"] < 0.9
    assert 0 < snapshot["stats"]["at_risk"] < 40
    statuses = {cell["status"] for row in snapshot["learners"] for cell in row["progress"].values()}
    assert statuses == {"not_started", "in_progress", "submitted", "completed"}
    kinds = set(Event.objects.filter(cohort=seeded[0]).values_list("kind", flat=True))
    assert {"learner.added", "progress.updated", "kudos.added", "comment.added"} <= kinds


@requires_node
def test_seeded_event_log_replays_to_the_stored_state(seeded):
    for cohort in seeded:
        assert grid(_replay_from_zero(cohort.pk)) == grid(cohort_snapshot(cohort_id=cohort.pk))


def test_seed_is_idempotent(seeded):
    counts = (Event.objects.count(), Membership.objects.count(), Cohort.objects.count())
    assert seed_demo() is False
    assert (Event.objects.count(), Membership.objects.count(), Cohort.objects.count()) == counts


def test_a_second_seed_leaves_existing_sessions_and_tokens_signed_in(seeded, client):
    """``make run`` seeds on every start: that must not sign the demo logins out."""
    assert client.login(username="mentor", password="mentor")
    token = APIClient().post(
        "/api/auth/token/", {"username": "learner", "password": "learner"}, format="json"
    )
    assert token.status_code == 200
    password_hash = User.objects.get(username="mentor").password

    call_command("seed_demo", "--force")

    assert User.objects.get(username="mentor").password == password_hash
    assert client.get("/api/me/").status_code == 200
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    assert bearer.get("/api/me/").status_code == 200
    assert authenticate(username="mentor", password="mentor") is not None


def test_seed_command_refuses_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not Cohort.objects.exists()


@requires_node
def test_simulator_makes_changes_through_the_services(world):
    rng = random.Random(3)
    made = [simulate_step(cohort_id=world.cohort.pk, rng=rng) for _ in range(40)]
    assert sum(m is not None for m in made) > 20
    head = Cohort.objects.get(pk=world.cohort.pk).head_seq
    assert head > 3 + 20
    snapshot = cohort_snapshot(cohort_id=world.cohort.pk)
    assert grid(_replay_from_zero(world.cohort.pk)) == grid(snapshot)


def test_simulate_command_runs_a_bounded_number_of_steps(world):
    call_command(
        "simulate",
        "--cohort",
        str(world.cohort.pk),
        "--count",
        "5",
        "--interval",
        "0",
        "--seed",
        "1",
    )
    assert Cohort.objects.get(pk=world.cohort.pk).head_seq > 3
