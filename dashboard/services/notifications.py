"""Writes of the alert emails: a user's preferences, and each email sent at most once."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from dashboard import clock
from dashboard.models import AlertSent, NotificationPreference
from dashboard.selectors.notifications import PREFERENCES, notification_preferences


def notification_preferences_update(
    *, user: AbstractBaseUser, at_risk_email: bool | None = None, daily_digest: bool | None = None
) -> dict[str, bool]:
    """Change any subset of the user's email preferences; return them all."""
    changes = {
        name: value
        for name, value in zip(PREFERENCES, (at_risk_email, daily_digest), strict=True)
        if value is not None
    }
    if changes:
        NotificationPreference.objects.update_or_create(user_id=user.pk, defaults=changes)
    return notification_preferences(user=user)


def alert_send_once(
    *, user_id: int, cohort_id: int, kind: str, ref: str, send: Callable[[], object]
) -> bool:
    """Call ``send`` unless this alert went out already; return whether it was sent now.

    The ``AlertSent`` row and the send share one transaction: the row's unique constraint
    lets one job run claim the alert (a concurrent run waits on the row, then skips it), and
    a send that raises rolls the claim back, so a retry sends it. The one gap left is a
    crash between a send and its commit, which re-sends once.
    """
    try:
        with transaction.atomic():
            AlertSent.objects.create(
                user_id=user_id, cohort_id=cohort_id, kind=kind, ref=ref, sent_at=clock.now()
            )
            send()
    except IntegrityError:
        return False
    return True
