"""The mentors' alert emails: once per at-risk transition and per daily digest, whatever the
retries and concurrent job runs, and only to those who want them (locmem email backend)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from dashboard import jobs, tasks
from dashboard.models import AlertSent, Event, Progress
from dashboard.services import alerts
from dashboard.services.notifications import notification_preferences_update
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add
from tests.factories import make_cohort, make_user


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://dash.example"


def _with_email(user, address: str):
    get_user_model().objects.filter(pk=user.pk).update(email=address)
    user.email = address
    return user


@pytest.fixture
def mentored(world):
    """The world (learners 0-2 all overdue) with an emailed mentor and a second one."""
    _with_email(world.mentor, "mentor@example.com")
    from dashboard.services.cohorts import mentor_add

    second = _with_email(make_user(name="Second Mentor"), "second@example.com")
    mentor_add(cohort=world.cohort, user=second)
    world.second = second  # type: ignore[attr-defined]
    return world


def _at_risk_mails():
    return [m for m in mail.outbox if "is at risk" in m.subject]


def test_each_mentor_gets_one_email_per_learner_newly_at_risk(mentored):
    assert jobs.at_risk_recompute() == 3
    assert jobs.alert_emails() == 6
    sent = _at_risk_mails()
    assert sorted(m.to[0] for m in sent) == ["mentor@example.com"] * 3 + ["second@example.com"] * 3
    first = next(m for m in sent if "Learner 0" in m.subject)
    learner = mentored.learners[0]
    assert f"https://dash.example/#cohort={mentored.cohort.pk}&learner={learner.pk}" in first.body
    assert "Python was due" in first.body and "Django was due" in first.body
    assert first.subject == f"[{mentored.cohort.name}] Learner 0 is at risk"


def test_a_second_run_sends_nothing_again(mentored):
    jobs.at_risk_recompute()
    jobs.alert_emails()
    mail.outbox.clear()
    assert jobs.alert_emails() == 0
    assert tasks.alert_emails() == 0  # the Celery task, called in-process
    assert mail.outbox == []


def test_a_relapse_is_a_new_transition_and_a_new_email(mentored):
    jobs.at_risk_recompute()
    jobs.alert_emails()
    learner = mentored.learners[0]
    for slug in ("python", "django"):
        cell = Progress.objects.get(learner=learner, milestone__slug=slug)
        progress_update(
            actor=mentored.mentor,
            cohort_id=mentored.cohort.pk,
            learner_id=learner.pk,
            milestone_slug=slug,
            version=cell.version,
            status="submitted",
        )
    assert jobs.at_risk_recompute() == 1  # on track
    Progress.objects.filter(learner=learner, milestone__slug="django").update(status="not_started")
    assert jobs.at_risk_recompute() == 1  # at risk again
    mail.outbox.clear()
    assert jobs.alert_emails() == 2
    assert all("Learner 0" in m.subject for m in mail.outbox)


def test_a_learner_who_recovered_before_the_job_ran_is_not_emailed(mentored):
    jobs.at_risk_recompute()
    learner = mentored.learners[0]
    with transaction.atomic():
        from dashboard.services.events import event_append

        event_append(
            cohort_id=mentored.cohort.pk,
            kind=Event.Kind.LEARNER_ON_TRACK,
            actor=None,
            data={"learner": {"id": learner.pk, "name": "Learner 0"}},
        )
    jobs.alert_emails()
    assert not any("Learner 0" in m.subject for m in _at_risk_mails())
    assert len(_at_risk_mails()) == 4


def test_marks_older_than_the_window_are_not_emailed(mentored, settings):
    jobs.at_risk_recompute()
    Event.objects.filter(kind=Event.Kind.LEARNER_AT_RISK).update(
        created_at=timezone.now() - timedelta(hours=settings.ALERT_WINDOW_HOURS + 1)
    )
    assert jobs.alert_emails() == 0


def test_preferences_off_and_missing_addresses_get_nothing(mentored):
    notification_preferences_update(user=mentored.second, at_risk_email=False)
    _with_email(mentored.learner.user, "learner@example.com")
    jobs.at_risk_recompute()
    jobs.alert_emails()
    assert {m.to[0] for m in _at_risk_mails()} == {"mentor@example.com"}


def test_a_failed_send_is_retried_by_the_next_run(mentored, monkeypatch):
    jobs.at_risk_recompute()
    real = alerts.send_mail

    def flaky(**kwargs):
        raise OSError("SMTP down")

    monkeypatch.setattr(alerts, "send_mail", flaky)
    assert jobs.run_jobs_once()["alert_emails"] is None  # logged, the other jobs ran
    assert AlertSent.objects.count() == 0
    monkeypatch.setattr(alerts, "send_mail", real)
    assert jobs.alert_emails() == 6 + 2  # and the digest run_jobs_once's daily_digest wrote
    assert len(_at_risk_mails()) == 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_job_runs_send_each_email_once():
    world = make_cohort(learners=3)
    _with_email(world.mentor, "mentor@example.com")
    jobs.at_risk_recompute()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(5)
            jobs.alert_emails()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(_at_risk_mails()) == 3
    assert AlertSent.objects.filter(kind="at_risk").count() == 3


# --------------------------------------------------------------------------------------
# The daily digest
# --------------------------------------------------------------------------------------


@pytest.fixture
def busy_day(mentored, monkeypatch):
    """Yesterday: learner 0 completed python, learner 1 commented on it unanswered."""
    yesterday = timezone.localdate() - timedelta(days=1)
    noon = timezone.make_aware(
        timezone.datetime.combine(yesterday, timezone.datetime.min.time())
    ) + timedelta(hours=12)
    from dashboard import clock

    monkeypatch.setattr(clock, "now", lambda: noon)
    learner = mentored.learners[0]
    cell = Progress.objects.get(learner=learner, milestone__slug="python")
    change = progress_update(
        actor=mentored.mentor,
        cohort_id=mentored.cohort.pk,
        learner_id=learner.pk,
        milestone_slug="python",
        version=cell.version,
        status="completed",
        score=88,
    )
    comment_add(
        actor=mentored.learners[1].user,
        cohort_id=mentored.cohort.pk,
        seq=change.seq,  # type: ignore[arg-type]
        text="How did you do the <b>Docker</b> part?",
    )
    jobs.at_risk_recompute()
    monkeypatch.undo()
    jobs.daily_digest(day=yesterday)
    mentored.day = yesterday  # type: ignore[attr-defined]
    return mentored


def _digests():
    return [m for m in mail.outbox if "Daily digest" in m.subject]


def test_the_digest_reports_at_risk_overdue_completions_and_comments(busy_day):
    jobs.alert_emails(day=busy_day.day)
    digests = _digests()
    assert sorted(m.to[0] for m in digests) == ["mentor@example.com", "second@example.com"]
    body = digests[0].body
    assert digests[0].subject == f"[{busy_day.cohort.name}] Daily digest for {busy_day.day}"
    assert "Newly at risk (3)" in body
    assert "Overdue (3)" in body and "Learner 0: Django" in body
    assert "Completions (1):\n- Learner 0: python (88)" in body
    assert "Learner 1 on event #" in body and "<b>Docker</b>" in body
    assert f"https://dash.example/#cohort={busy_day.cohort.pk}" in body


def test_the_digest_goes_out_once(busy_day):
    assert jobs.alert_emails(day=busy_day.day) == 2 + 6
    mail.outbox.clear()
    assert jobs.alert_emails(day=busy_day.day) == 0
    assert mail.outbox == []


def test_a_mentors_answer_means_no_comment_is_waiting(busy_day):
    event = Event.objects.filter(kind="comment.added").get()
    from dashboard import clock

    day_end = timezone.make_aware(
        timezone.datetime.combine(busy_day.day, timezone.datetime.max.time())
    ) - timedelta(minutes=1)
    original = clock.now
    clock.now = lambda: day_end  # type: ignore[assignment]
    try:
        comment_add(
            actor=busy_day.mentor, cohort_id=busy_day.cohort.pk, seq=event.data["event"], text="Ok"
        )
    finally:
        clock.now = original  # type: ignore[assignment]
    jobs.alert_emails(day=busy_day.day)
    assert "Comments waiting for a mentor (0): none" in _digests()[0].body


def test_digest_preference_off_gets_no_digest(busy_day):
    notification_preferences_update(user=busy_day.second, daily_digest=False)
    jobs.alert_emails(day=busy_day.day)
    assert [m.to[0] for m in _digests()] == ["mentor@example.com"]


def test_no_report_no_digest(mentored):
    assert alerts.digest_emails_send(day=timezone.localdate() - timedelta(days=1)) == 0
    assert _digests() == []


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


def _email_settings(env: dict[str, str]) -> dict:
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ('EMAIL_BACKEND', 'EMAIL_HOST', "
        "'EMAIL_PORT', 'EMAIL_HOST_USER', 'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS', "
        "'EMAIL_USE_SSL')}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "dashboard.settings.base", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_email_defaults_to_the_console_and_reads_smtp_from_email_url():
    assert _email_settings({})["EMAIL_BACKEND"].endswith("console.EmailBackend")
    smtps = _email_settings({"EMAIL_URL": "smtps://bot%40x.org:p%2Fw@mail.example:2465"})
    assert smtps == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example",
        "EMAIL_PORT": 2465,
        "EMAIL_HOST_USER": "bot@x.org",
        "EMAIL_HOST_PASSWORD": "p/w",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": True,
    }
    starttls = _email_settings({"EMAIL_HOST": "smtp.example", "EMAIL_HOST_USER": "u"})
    assert (starttls["EMAIL_PORT"], starttls["EMAIL_USE_TLS"]) == (587, True)
