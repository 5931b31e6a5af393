"""The REST auth matrix: one test per (caller, endpoint) cell.

A cohort's existence is never leaked: outsiders get the same 404 as for a missing cohort.
The WebSocket half of the matrix lives in tests/realtime/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from dashboard.models import Progress

CALLERS = [
    "anonymous",
    "expired_jwt",
    "forged_jwt",
    "learner",
    "other_learner",
    "mentor",
    "other_mentor",
    "staff",
]

# endpoint -> expected status per caller
MATRIX = {
    "me": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=200,
        other_learner=200,
        mentor=200,
        other_mentor=200,
        staff=200,
    ),
    "cohort_list": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=200,
        other_learner=200,
        mentor=200,
        other_mentor=200,
        staff=200,
    ),
    "snapshot": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=200,
        other_learner=404,
        mentor=200,
        other_mentor=404,
        staff=200,
    ),
    "events": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=200,
        other_learner=404,
        mentor=200,
        other_mentor=404,
        staff=200,
    ),
    "own_progress": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=200,
        other_learner=404,
        mentor=200,
        other_mentor=404,
        staff=200,
    ),
    "peer_progress": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=403,
        other_learner=404,
        mentor=200,
        other_mentor=404,
        staff=200,
    ),
    "kudos": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=201,
        other_learner=404,
        mentor=201,
        other_mentor=404,
        staff=201,
    ),
    "comment": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=201,
        other_learner=404,
        mentor=201,
        other_mentor=404,
        staff=201,
    ),
    "comment_list": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=200,
        other_learner=404,
        mentor=200,
        other_mentor=404,
        staff=200,
    ),
    "cache_metrics": dict(
        anonymous=401,
        expired_jwt=401,
        forged_jwt=401,
        learner=403,
        other_learner=403,
        mentor=200,
        other_mentor=200,
        staff=200,
    ),
}


def _client(caller: str, world, other_world, staff) -> APIClient:
    client = APIClient()
    user = {
        "learner": world.learner.user,
        "other_learner": other_world.learner.user,
        "mentor": world.mentor,
        "other_mentor": other_world.mentor,
        "staff": staff,
        "expired_jwt": world.mentor,
        "forged_jwt": world.mentor,
    }.get(caller)
    if user is None:
        return client
    token = AccessToken.for_user(user)
    if caller == "expired_jwt":
        token.set_exp(lifetime=-timedelta(seconds=1))
    raw = str(token)
    if caller == "forged_jwt":  # a valid-looking token signed with another key
        header, payload, _ = raw.split(".")
        raw = f"{header}.{payload}.{'A' * 43}"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _call(endpoint: str, client: APIClient, world):
    cid = world.cohort.pk
    own = world.learner
    peer = world.learners[1]

    def patch(learner):
        version = Progress.objects.get(learner=learner, milestone__slug="python").version
        return client.patch(
            f"/api/cohorts/{cid}/progress/{learner.pk}/python/",
            {"status": "in_progress", "version": version},
            format="json",
        )

    return {
        "me": lambda: client.get("/api/me/"),
        "cohort_list": lambda: client.get("/api/cohorts/"),
        "snapshot": lambda: client.get(f"/api/cohorts/{cid}/snapshot/"),
        "events": lambda: client.get(f"/api/cohorts/{cid}/events/"),
        "own_progress": lambda: patch(own),
        "peer_progress": lambda: patch(peer),
        "kudos": lambda: client.post(f"/api/cohorts/{cid}/events/1/kudos/"),
        "comment": lambda: client.post(
            f"/api/cohorts/{cid}/events/1/comments/", {"text": "hi"}, format="json"
        ),
        "comment_list": lambda: client.get(f"/api/cohorts/{cid}/events/1/comments/"),
        "cache_metrics": lambda: client.get("/api/metrics/cache/"),
    }[endpoint]()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_auth_matrix(world, other_world, staff, endpoint, caller):
    response = _call(endpoint, _client(caller, world, other_world, staff), world)
    expected = MATRIX[endpoint][caller]
    assert response.status_code == expected, response.content[:300]
    if expected >= 400:
        assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize("caller", ["other_learner", "other_mentor"])
def test_hidden_cohort_answers_exactly_like_a_missing_one(world, other_world, staff, caller):
    client = _client(caller, world, other_world, staff)
    for path in ("snapshot/", "events/", "events/1/kudos/"):
        method = client.post if "kudos" in path else client.get
        hidden = method(f"/api/cohorts/{world.cohort.pk}/{path}")
        missing = method(f"/api/cohorts/987654/{path}")
        assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content)


def test_cohort_list_never_mentions_other_cohorts(world, other_world, staff):
    body = _client("other_learner", world, other_world, staff).get("/api/cohorts/").json()
    assert world.cohort.pk not in [c["id"] for c in body]
    assert world.cohort.name not in str(body)
