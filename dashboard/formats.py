"""The domain's shared formats: times, people's names, a progress cell, a cohort.

The one place each of these is spelled: REST, GraphQL, the WebSocket wire
(realtime/protocol.py) and the services all build them here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypedDict

from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from dashboard.models import Cohort


def iso_ms(value: datetime | None) -> str | None:
    """Return ``value`` as ISO 8601 UTC with milliseconds, e.g. ``2026-11-26T09:41:35.123Z``."""
    if value is None:
        return None
    utc = value.astimezone(UTC) if timezone.is_aware(value) else value
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def display_name(user: AbstractBaseUser) -> str:
    full = getattr(user, "get_full_name", lambda: "")()
    return full or user.get_username()


class ProgressCell(TypedDict):
    status: str
    score: int | None
    version: int
    updated_at: str


def progress_cell(
    *, status: str, score: int | None, version: int, updated_at: datetime
) -> ProgressCell:
    return {
        "status": status,
        "score": score,
        "version": version,
        "updated_at": iso_ms(updated_at) or "",
    }


def cohort_dict(cohort: Cohort) -> dict[str, object]:
    """A cohort as the API and the ``cohort.updated`` event show it (without counts)."""
    return {
        "id": cohort.pk,
        "name": cohort.name,
        "program": cohort.program.name,
        "start_date": cohort.start_date.isoformat(),
        "end_date": cohort.end_date.isoformat(),
    }
