"""The time services stamp writes with. ``travel`` lets the demo seeder write history
through the real services; nothing else should set it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_local = threading.local()


def now() -> datetime:
    """Return the current time, truncated to milliseconds (the wire's precision)."""
    value: datetime = getattr(_local, "at", None) or timezone.now()
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


@contextmanager
def travel(to: datetime) -> Iterator[None]:
    """Make ``now()`` return ``to`` in this thread for the enclosed block."""
    previous = getattr(_local, "at", None)
    _local.at = to
    try:
        yield
    finally:
        _local.at = previous
