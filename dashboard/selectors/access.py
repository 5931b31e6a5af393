"""Who may see and do what in a cohort."""

from __future__ import annotations

from typing import Literal

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection

from dashboard.errors import NotFound
from dashboard.models import Cohort, Membership

Role = Literal["staff", "mentor", "learner"]

_MEMBER_ROLE = "SELECT role FROM dashboard_membership WHERE user_id = %s AND cohort_id = %s"


def cohort_role(*, user: User | AnonymousUser, cohort_id: int) -> Role | None:
    """Return the caller's role in the cohort, ``staff`` for staff, or None when not visible."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_staff", False):
        return "staff" if Cohort.objects.filter(pk=cohort_id).exists() else None
    # Every request that names a cohort asks this: written out, the query costs ~0.07 ms
    # of CPU against ~0.6 ms built by the ORM (docs/performance-history.md, "What
    # session 6 changed").
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_ROLE, [user.pk, cohort_id])
        row = cursor.fetchone()
    return None if row is None else row[0]


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
