"""Reads for the alert emails: preferences, recipients, and what the emails report."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.utils import timezone

from dashboard.formats import display_name
from dashboard.models import Comment, Event, Membership, NotificationPreference
from dashboard.selectors.cohorts import snapshot_bundle
from dashboard.selectors.stats import overdue_milestones

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


# --------------------------------------------------------------------------------------
# What the emails say
# --------------------------------------------------------------------------------------


def recent_at_risk_marks(*, since: datetime) -> list[Event]:
    """Return the ``learner.at_risk`` events appended since ``since`` that are still each
    learner's latest mark (one who recovered since is not worth an email), oldest first."""
    marks = list(
        Event.objects.filter(
            kind__in=(Event.Kind.LEARNER_AT_RISK, Event.Kind.LEARNER_ON_TRACK),
            created_at__gte=since,
        )
        .select_related("cohort")
        .order_by("cohort_id", "seq")
    )
    latest = {(e.cohort_id, e.learner_id): e for e in marks}
    return [e for e in latest.values() if e.kind == Event.Kind.LEARNER_AT_RISK]


def daily_reports(*, day: date) -> list[Event]:
    """Return the ``report.daily`` events of ``day``, one per cohort that has it."""
    written_after = timezone.make_aware(datetime.combine(day, time.min))
    return [
        event
        for event in Event.objects.filter(
            kind=Event.Kind.REPORT_DAILY, created_at__gte=written_after
        )
        .select_related("cohort")
        .order_by("cohort_id", "seq")
        if (event.data or {}).get("date") == day.isoformat()
    ]


def overdue_learners(*, cohort_id: int) -> list[dict[str, Any]]:
    """Return ``[{"id", "name", "milestones": [title, ...]}]``: who is overdue now, on what."""
    bundle = snapshot_bundle(cohort_id=cohort_id)
    today = timezone.localdate()
    result = []
    for row in bundle["learners"]:
        late = overdue_milestones(
            cells=bundle["risk_input"].get(row["id"], {}), milestones=bundle["dues"], today=today
        )
        if late:
            result.append(
                {"id": row["id"], "name": row["name"], "milestones": [m.title for m in late]}
            )
    return result


def comments_waiting(*, cohort_id: int, day: date, limit: int = 20) -> list[dict[str, Any]]:
    """Return the day's threads whose last comment is a learner's: nobody has answered yet.

    ``[{"seq", "author", "text"}]``, the event commented on and that last comment.
    """
    start = timezone.make_aware(datetime.combine(day, time.min))
    learners = set(
        Membership.objects.filter(cohort_id=cohort_id, role=Membership.Role.LEARNER).values_list(
            "user_id", flat=True
        )
    )
    last: dict[int, Comment] = {}
    for comment in (
        Comment.objects.filter(
            event__cohort_id=cohort_id,
            created_at__gte=start,
            created_at__lt=start + timedelta(days=1),
        )
        .select_related("author", "event")
        .order_by("id")
    ):
        last[comment.event_id] = comment
    return [
        {"seq": c.event.seq, "author": display_name(c.author), "text": c.text}
        for c in last.values()
        if c.author_id in learners
    ][:limit]
