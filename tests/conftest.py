from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import CohortWorld, make_cohort, make_user


@pytest.fixture
def world(db) -> CohortWorld:
    """A cohort of three learners and a mentor, with their learner.added events."""
    return make_cohort(learners=3)


@pytest.fixture
def other_world(db) -> CohortWorld:
    """A second cohort whose members must never see the first."""
    return make_cohort(learners=2)


@pytest.fixture
def staff(db):
    return make_user("staffer", staff=True, name="Staff Person")


@pytest.fixture
def outsider(db):
    return make_user("outsider")


@pytest.fixture
def client_for():
    """Return an API client authenticated by a JWT access token for ``user``."""

    def build(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token = RefreshToken.for_user(user).access_token
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return build


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache (throttle counters included)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
