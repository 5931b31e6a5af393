"""The Celery application: the broker is Redis, beat schedules the periodic jobs.

Run with ``celery -A dashboard.celery worker`` and ``celery -A dashboard.celery beat``
(``deploy/entrypoint.sh worker|beat``). Configuration comes from the ``CELERY_*`` Django
settings; the schedule is here because it is code, not configuration.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun
from django.conf import settings

from dashboard.logging import request_id_var
from dashboard.prometheus import install_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings.base")

app = Celery("dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["dashboard"])
install_celery_signals()  # job runs and failures in /metrics (dashboard/prometheus.py)


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Return the schedule: sweep, at-risk and the alert emails every ``PERIODIC_INTERVAL`` s,
    the digest hourly.

    The digest job is idempotent and writes yesterday's digest once, so running it every
    hour means the first run after midnight writes it and a beat that was down catches up.
    """
    every = float(settings.PERIODIC_INTERVAL)
    return {
        "presence-sweep": {"task": "dashboard.presence_sweep", "schedule": every},
        "at-risk-recompute": {"task": "dashboard.at_risk_recompute", "schedule": every},
        "daily-digest": {"task": "dashboard.daily_digest", "schedule": crontab(minute=5)},
        # Every interval too: an at-risk email follows its mark within a minute or so.
        "alert-emails": {"task": "dashboard.alert_emails", "schedule": every},
    }


app.conf.beat_schedule = beat_schedule()


# A task's log lines carry its id where a request's carry the request id, so one job's
# lines can be picked out of the worker's JSON logs like one request's.
_task_tokens: dict[str, Any] = {}


@task_prerun.connect
def _bind_task_id(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _task_tokens[task_id] = request_id_var.set(f"task-{task_id}")


@task_postrun.connect
def _unbind_task_id(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        request_id_var.reset(token)
