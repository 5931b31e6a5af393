from __future__ import annotations

import sys

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import CohortWorld, make_cohort, make_user


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test databases, with the connections other threads kept closed first.

    ``CONN_MAX_AGE`` keeps a connection per thread: asgiref's thread for
    ``database_sync_to_async`` and the HTTP handler's kept threads hold theirs until the
    end of the run, and PostgreSQL refuses to drop a database that is still in use.
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(10)
    asgi = sys.modules.get("dashboard.asgi")
    if asgi is not None:
        asgi.django_asgi_app.threads.close()


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


def _clear_own_cache_keys() -> None:
    """Empty the cache of this run's keys only: never FLUSHDB a Redis the suite shares."""
    from django.conf import settings
    from django.core.cache import cache

    from dashboard.selectors import caching

    caching._near.clear()  # the process's copies of what the cache held
    if not settings.REDIS_URL:
        cache.clear()
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{settings.TEST_KEY_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # tests that take Redis down clean up after themselves
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache (throttle counters included)."""
    _clear_own_cache_keys()
    yield
    _clear_own_cache_keys()
