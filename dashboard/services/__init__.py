"""Writes. Each public service validates, applies, and appends exactly one event in one
transaction; the event reaches subscribers through ``realtime.broadcasting`` after commit."""

from dashboard.services.cohorts import cohort_update, learner_add
from dashboard.services.events import event_append
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add, kudos_add

__all__ = [
    "cohort_update",
    "comment_add",
    "event_append",
    "kudos_add",
    "learner_add",
    "progress_update",
]
