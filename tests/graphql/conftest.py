"""GraphQL over HTTP: a client per user, posting documents as an outside client would."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken


class GraphQLClient:
    def __init__(self, user: Any = None) -> None:
        self.http = APIClient()
        if user is not None:
            token = RefreshToken.for_user(user).access_token
            self.http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(self, query: str, variables: dict | None = None, **extra: Any):
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        body.update(extra)
        return self.http.post("/graphql/", body, format="json")

    def run(self, query: str, variables: dict | None = None) -> dict:
        """Post and return the body of an executed operation (HTTP 200)."""
        response = self.post(query, variables)
        assert response.status_code == 200, response.content
        return response.json()


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@pytest.fixture
def gql():
    return GraphQLClient


@pytest.fixture(autouse=True)
def _no_answers_from_other_tests():
    """Each test starts with an empty answer cache: a test that patches a resolver must
    not be answered from another test's run of the same document on equal content."""
    from dashboard.graphql import result_cache

    result_cache.results.clear()
    yield
    result_cache.results.clear()


def grade(world, score: int) -> None:
    """The mentor completes the learner's first milestone (version 1) with ``score``."""
    from dashboard.services.progress import progress_update

    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=world.learner.pk,
        milestone_slug="python",
        status="completed",
        score=score,
        version=1,
    )


def complete(world, learner, score: int) -> None:
    """``learner`` starts and submits python, then the mentor completes it with ``score``
    (the cell's versions 1 to 3: a fresh cell)."""
    from dashboard.services.progress import progress_update

    steps = [(learner.user, "in_progress", None, 1), (learner.user, "submitted", None, 2)]
    steps.append((world.mentor, "completed", score, 3))
    for actor, status, points, version in steps:
        progress_update(
            actor=actor,
            cohort_id=world.cohort.pk,
            learner_id=learner.pk,
            milestone_slug="python",
            status=status,
            version=version,
            **({"score": points} if points is not None else {}),
        )
