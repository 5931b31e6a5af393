"""Fixtures of the deploy tests: a private redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import private_redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A private redis-server on a free port (no persistence), gone after the test."""
    with private_redis() as server:
        yield f"redis://127.0.0.1:{server.port}"
