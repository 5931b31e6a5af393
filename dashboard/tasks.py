"""Celery task wrappers of the periodic jobs; the logic lives in ``dashboard.jobs``."""

from __future__ import annotations

from datetime import date

from dashboard import jobs
from dashboard.celery import app


@app.task(name="dashboard.presence_sweep", ignore_result=True)
def presence_sweep() -> int | None:
    """Drop the presence of server processes that died without saying goodbye."""
    return jobs.presence_sweep()


@app.task(name="dashboard.at_risk_recompute", ignore_result=True)
def at_risk_recompute() -> int:
    """Push ``learner.at_risk`` / ``learner.on_track`` for every transition."""
    return jobs.at_risk_recompute()


@app.task(name="dashboard.daily_digest", ignore_result=True)
def daily_digest(day: str | None = None) -> int:
    """Append ``report.daily`` for ``day`` (ISO date; default yesterday) where it is missing."""
    return jobs.daily_digest(day=date.fromisoformat(day) if day else None)


@app.task(name="dashboard.alert_emails", ignore_result=True)
def alert_emails(day: str | None = None) -> int:
    """Send the mentors' at-risk emails and ``day``'s digests (default yesterday), each once."""
    return jobs.alert_emails(day=date.fromisoformat(day) if day else None)
