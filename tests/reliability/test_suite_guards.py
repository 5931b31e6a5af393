"""The suite cannot hang CI: every test is bounded, and so is every wait on a lock."""

from __future__ import annotations

import pytest
from django.db import connection


def test_every_test_has_a_time_limit(pytestconfig):
    # pytest-timeout: past this a test fails with every thread's stack printed, and the
    # run goes on, instead of eating the CI job's budget.
    assert 0 < float(pytestconfig.getini("timeout")) <= 600


@pytest.mark.django_db
def test_a_wait_on_a_postgresql_lock_is_bounded():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (SQLite's own busy timeout bounds its lock waits)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "1min"
