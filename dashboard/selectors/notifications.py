"""Reads for the alert emails: each user's preferences and who gets a cohort's alerts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User

from dashboard.models import Membership, NotificationPreference

PREFERENCES = ("at_risk_email", "daily_digest")


def notification_preferences(*, user: AbstractBaseUser) -> dict[str, bool]:
    """Return the user's ``{"at_risk_email", "daily_digest"}``; both on until they say otherwise."""
    row = NotificationPreference.objects.filter(user_id=user.pk).values(*PREFERENCES).first()
    return {name: True for name in PREFERENCES} if row is None else row


def cohort_recipients(*, cohort_id: int, preference: str) -> list[User]:
    """Return the cohort's mentors with an email address who have ``preference`` on."""
    if preference not in PREFERENCES:
        raise ValueError(f"Unknown preference {preference!r}.")
    turned_off: dict[str, Any] = {f"notification_preference__{preference}": False}
    return list(
        User.objects.filter(
            memberships__cohort_id=cohort_id,
            memberships__role=Membership.Role.MENTOR,
            is_active=True,
        )
        .exclude(email="")
        .exclude(**turned_off)
        .order_by("id")
    )
