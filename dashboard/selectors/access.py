"""Who may see and do what in a cohort."""

from __future__ import annotations

from typing import Literal

from django.contrib.auth.models import AnonymousUser, User

from dashboard.errors import NotFound
from dashboard.models import Cohort, Membership

Role = Literal["staff", "mentor", "learner"]


def cohort_role(*, user: User | AnonymousUser, cohort_id: int) -> Role | None:
    """Return the caller's role in the cohort, ``staff`` for staff, or None when not visible."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_staff", False):
        return "staff" if Cohort.objects.filter(pk=cohort_id).exists() else None
    role = (
        Membership.objects.filter(user=user, cohort_id=cohort_id)
        .values_list("role", flat=True)
        .first()
    )
    return role  # type: ignore[return-value]


def cohort_role_or_404(*, user: User | AnonymousUser, cohort_id: int) -> Role:
    """Return the caller's role, or raise ``NotFound``: existence is never leaked."""
    role = cohort_role(user=user, cohort_id=cohort_id)
    if role is None:
        raise NotFound("No such cohort.")
    return role


def can_see_cache_metrics(user: User | AnonymousUser) -> bool:
    """Staff and mentors of any cohort see the cache metrics."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False):
        return True
    return Membership.objects.filter(user=user, role=Membership.Role.MENTOR).exists()
