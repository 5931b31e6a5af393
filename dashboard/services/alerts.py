"""The mentors' alert emails: a learner became at risk, and the cohort's daily digest.

Both are sent by the periodic jobs (``dashboard.jobs.alert_emails``) from what the log
already holds (``learner.at_risk`` and ``report.daily`` events), through Django's email
framework, and each goes to each mentor at most once (``alert_send_once``).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.template.loader import render_to_string

from dashboard import clock
from dashboard.models import AlertSent, Event
from dashboard.selectors.notifications import (
    cohort_recipients,
    comments_waiting,
    daily_reports,
    overdue_learners,
    recent_at_risk_marks,
)
from dashboard.services.notifications import alert_send_once


def learner_link(cohort_id: int, learner_id: int) -> str:
    """Return the deep link that opens the learner's story on the dashboard."""
    return f"{settings.SITE_URL}/#cohort={cohort_id}&learner={learner_id}"


def _already_sent(kind: str, events: list[Event], ref_of: dict[int, str]) -> set[tuple]:
    """Return the (user, cohort, ref) already sent for these events: one query, so a job
    that runs every minute over a two-day window does not retry every claim each time."""
    if not events:
        return set()
    return set(
        AlertSent.objects.filter(
            kind=kind,
            cohort_id__in={e.cohort_id for e in events},
            ref__in=set(ref_of.values()),
        ).values_list("user_id", "cohort_id", "ref")
    )


def at_risk_alerts_send() -> int:
    """Email each mentor (who wants it) about each learner newly at risk; return the count.

    Looks at the at-risk marks of the last ``ALERT_WINDOW_HOURS``, so a job that was down
    catches up and a first start does not mail the whole history.
    """
    since = clock.now() - timedelta(hours=settings.ALERT_WINDOW_HOURS)
    marks = recent_at_risk_marks(since=since)
    refs = {e.pk: str(e.seq) for e in marks}
    done = _already_sent(AlertSent.Kind.AT_RISK, marks, refs)
    recipients: dict[int, list[User]] = {}
    sent = 0
    for event in marks:
        if event.cohort_id not in recipients:
            recipients[event.cohort_id] = cohort_recipients(
                cohort_id=event.cohort_id, preference="at_risk_email"
            )
        for user in recipients[event.cohort_id]:
            if (user.pk, event.cohort_id, refs[event.pk]) in done:
                continue
            sent += alert_send_once(
                user_id=user.pk,
                cohort_id=event.cohort_id,
                kind=AlertSent.Kind.AT_RISK,
                ref=refs[event.pk],
                send=partial(_send_at_risk, event, user),
            )
    return sent


def _send_at_risk(event: Event, user: User) -> None:
    learner = event.data["learner"]
    context = {
        "learner": learner["name"],
        "cohort": event.cohort.name,
        "reasons": event.data.get("reasons", []),
        "link": learner_link(event.cohort_id, learner["id"]),
        "site": settings.SITE_URL,
    }
    send_mail(
        subject=f"[{event.cohort.name}] {learner['name']} is at risk",
        message=render_to_string("email/at_risk.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def digest_emails_send(*, day: date) -> int:
    """Email each mentor (who wants it) their cohort's digest of ``day``; return the count.

    A cohort's digest email follows its ``report.daily`` event, so it is sent once that
    job has written the day's report.
    """
    reports = daily_reports(day=day)
    refs = {e.pk: day.isoformat() for e in reports}
    done = _already_sent(AlertSent.Kind.DIGEST, reports, refs)
    sent = 0
    for report in reports:
        users = [
            user
            for user in cohort_recipients(cohort_id=report.cohort_id, preference="daily_digest")
            if (user.pk, report.cohort_id, day.isoformat()) not in done
        ]
        if not users:
            continue
        message = _digest_text(report, day)
        subject = f"[{report.cohort.name}] Daily digest for {day.isoformat()}"
        for user in users:
            sent += alert_send_once(
                user_id=user.pk,
                cohort_id=report.cohort_id,
                kind=AlertSent.Kind.DIGEST,
                ref=day.isoformat(),
                send=partial(
                    send_mail,
                    subject=subject,
                    message=message,
                    from_email=None,
                    recipient_list=[user.email],
                ),
            )
    return sent


def _digest_text(report: Event, day: date) -> str:
    data = report.data
    return render_to_string(
        "email/digest.txt",
        {
            "cohort": report.cohort.name,
            "cohort_id": report.cohort_id,
            "day": day.isoformat(),
            "report": {**data, "completion_percent": round(100 * data.get("completion", 0))},
            "overdue": overdue_learners(cohort_id=report.cohort_id),
            "comments": comments_waiting(cohort_id=report.cohort_id, day=day),
            "site": settings.SITE_URL,
        },
    )
