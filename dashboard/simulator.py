"""The demo simulator: plausible progress, kudos and comments, through the same services
as every other write."""

from __future__ import annotations

import logging
import random
import threading

from django.db import close_old_connections

from dashboard.demo import COMMENTS
from dashboard.errors import DomainError
from dashboard.models import Event, Membership, Progress
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add, kudos_add

logger = logging.getLogger(__name__)
Status = Progress.Status


def simulate_step(*, cohort_id: int, rng: random.Random) -> str | None:
    """Make one plausible change in the cohort; return what was done, or None."""
    mentor = (
        Membership.objects.filter(cohort_id=cohort_id, role=Membership.Role.MENTOR)
        .select_related("user")
        .first()
    )
    learners = list(
        Membership.objects.filter(cohort_id=cohort_id, role=Membership.Role.LEARNER).select_related(
            "user"
        )
    )
    if mentor is None or not learners:
        return None
    roll = rng.random()
    if roll < 0.75:
        return _advance(cohort_id=cohort_id, mentor=mentor, learner=rng.choice(learners), rng=rng)
    recent = list(
        Event.objects.filter(cohort_id=cohort_id, kind=Event.Kind.PROGRESS_UPDATED)
        .order_by("-seq")
        .values_list("seq", flat=True)[:15]
    )
    if not recent:
        return None
    seq = rng.choice(recent)
    if roll < 0.92:
        giver = rng.choice([mentor, *learners]).user
        result = kudos_add(actor=giver, cohort_id=cohort_id, seq=seq)
        return f"kudos on #{seq}" if result.created else None
    comment_add(actor=mentor.user, cohort_id=cohort_id, seq=seq, text=rng.choice(COMMENTS))
    return f"comment on #{seq}"


def _advance(
    *, cohort_id: int, mentor: Membership, learner: Membership, rng: random.Random
) -> str | None:
    cell = (
        Progress.objects.filter(learner=learner)
        .exclude(status=Status.COMPLETED)
        .select_related("milestone")
        .order_by("milestone__order")
        .first()
    )
    if cell is None:
        return None
    nxt = {
        Status.NOT_STARTED: (Status.IN_PROGRESS, learner, None),
        Status.IN_PROGRESS: (Status.SUBMITTED, learner, None),
        Status.SUBMITTED: (
            (Status.IN_PROGRESS, mentor, None)
            if rng.random() < 0.15
            else (Status.COMPLETED, mentor, int(min(100, max(55, rng.gauss(84, 9)))))
        ),
    }[Status(cell.status)]
    status, actor, score = nxt
    extra = {"score": score} if status == Status.COMPLETED else {}
    progress_update(
        actor=actor.user,
        cohort_id=cohort_id,
        learner_id=learner.pk,
        milestone_slug=cell.milestone.slug,
        version=cell.version,
        status=status,
        **extra,
    )
    return f"{learner.user.username} {cell.milestone.slug} -> {status}"


def run_simulator(
    *,
    cohort_ids: list[int],
    interval: float,
    stop: threading.Event,
    seed: int | None = None,
    count: int | None = None,
    recycle_connections: bool = False,
) -> int:
    """Step through the cohorts every ``interval`` seconds (jittered) until ``stop`` is set
    or ``count`` steps are done; return the number of changes made.

    ``recycle_connections`` closes stale database connections between steps, as a request
    cycle would; a long-lived thread inside the server needs it.
    """
    rng = random.Random(seed)
    made = 0
    steps = 0
    while not stop.is_set() and (count is None or steps < count):
        if recycle_connections:
            close_old_connections()
        for cohort_id in cohort_ids:
            try:
                if simulate_step(cohort_id=cohort_id, rng=rng):
                    made += 1
            except DomainError as exc:  # a real user got there first: fine
                logger.debug("simulator step refused: %s", exc)
            except Exception:
                logger.exception("simulator step failed")
        steps += 1
        stop.wait(interval * rng.uniform(0.5, 1.5))
    return made
