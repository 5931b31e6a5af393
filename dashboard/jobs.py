"""The periodic jobs (the program's cron jobs) and the in-process loop that runs them.

Four jobs, each safe to run at any time, from anywhere, any number of times:

- ``presence_sweep``: drop the presence of server processes that died without saying
  goodbye (the realtime layer's ``realtime.presence.presence_sweep``).
- ``at_risk_recompute``: push ``learner.at_risk`` / ``learner.on_track`` on transitions.
- ``daily_digest``: append ``report.daily`` for the last completed day to each cohort.
- ``alert_emails``: email mentors about learners newly at risk and their cohort's daily
  digest, each email once (``dashboard.services.alerts``, docs/alerts.md).

In production Celery beat schedules them on the Redis broker (``dashboard.celery``,
``dashboard.tasks``); in the embedded default ``run_periodic_jobs`` runs them in a thread
of the server process (``dashboard.background``), so ``make run`` needs no broker.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Callable
from datetime import date, timedelta

from django.db import close_old_connections, connection
from django.utils import timezone

from dashboard import clock, prometheus
from dashboard.models import Cohort
from dashboard.services.alerts import at_risk_alerts_send, digest_emails_send
from dashboard.services.reports import at_risk_update, daily_digest_append

logger = logging.getLogger(__name__)


def presence_sweep() -> int | None:
    """Run the realtime layer's presence sweep; return what it returns (None without one)."""
    from realtime import presence

    sweep: Callable[[], object] | None = getattr(presence, "presence_sweep", None)
    if sweep is None:
        logger.debug("presence_sweep: realtime.presence has no sweep; nothing to do")
        return None
    result = sweep()
    if inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    return result if isinstance(result, int) else None


async def _awaited(awaitable: object) -> object:
    return await awaitable  # type: ignore[misc]


def _cohorts_running(on: date) -> list[int]:
    return list(
        Cohort.objects.filter(start_date__lte=on, end_date__gte=on)
        .order_by("id")
        .values_list("id", flat=True)
    )


def at_risk_recompute() -> int:
    """Recompute who is at risk in every running cohort; return the events appended."""
    appended = 0
    for cohort_id in _cohorts_running(timezone.localdate(clock.now())):
        appended += len(at_risk_update(cohort_id=cohort_id))
    if appended:
        logger.info("at_risk_recompute: %d transition(s)", appended)
    return appended


def daily_digest(*, day: date | None = None) -> int:
    """Append ``report.daily`` for ``day`` (default: yesterday) to every cohort running that
    day that lacks it; return the digests appended.

    Idempotent, so the scheduler may run it often: the first run after midnight writes the
    digest, the others find it there, and a scheduler that was down catches up.
    """
    day = day or timezone.localdate(clock.now()) - timedelta(days=1)
    appended = sum(
        daily_digest_append(cohort_id=cohort_id, day=day) is not None
        for cohort_id in _cohorts_running(day)
    )
    if appended:
        logger.info("daily_digest: %d digest(s) for %s", appended, day.isoformat())
    return appended


def alert_emails(*, day: date | None = None) -> int:
    """Send the at-risk emails owed and the digests of ``day`` (default: yesterday); return
    the emails sent. Each goes out once, however often and from however many places this runs.
    """
    day = day or timezone.localdate(clock.now()) - timedelta(days=1)
    sent = at_risk_alerts_send() + digest_emails_send(day=day)
    if sent:
        logger.info("alert_emails: %d email(s) sent", sent)
    return sent


# In this order: the emails report what the two jobs before them appended.
JOBS: dict[str, Callable[[], int | None]] = {
    "presence_sweep": presence_sweep,
    "at_risk_recompute": at_risk_recompute,
    "daily_digest": daily_digest,
    "alert_emails": alert_emails,
}


def run_jobs_once() -> dict[str, int | None]:
    """Run every job once; a failing job is logged and does not stop the others."""
    results: dict[str, int | None] = {}
    for name, job in JOBS.items():
        try:
            with prometheus.job_run(name):
                results[name] = job()
        except Exception:
            logger.exception("periodic job %s failed", name)
            results[name] = None
    return results


def run_periodic_jobs(*, interval: float, stop: threading.Event) -> None:
    """Run every job each ``interval`` seconds until ``stop`` is set (the embedded mode).

    The first run waits one interval, so a server that starts and stops at once (tests,
    benchmarks) never writes to the feed.
    """
    try:
        while not stop.wait(interval):
            close_old_connections()
            run_jobs_once()
            close_old_connections()
    finally:
        connection.close()
