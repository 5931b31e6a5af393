"""The demo simulator: cohorts that stay alive and believable for hours.

``make run`` (``SIMULATE=1``, one step per cohort every ``SIMULATE_INTERVAL`` s) and
``manage.py simulate`` drive the demo with ``CohortModel``, a pure, seedable model (no
database, no clock, no sleeping: a test runs eight simulated hours in seconds), and
write what it decides through the same services as every other write.

The model, per cohort and step:

- **The calendar leads.** A learner works on their earliest milestone that is neither
  submitted nor completed, and only when its due date is within their *lead* of today
  (a few days ahead on average; some learners work days behind it). Work beyond the
  lead waits, so completion follows the week the cohort is in instead of running to
  100 %. Leads drift a little, back towards each learner's own habit.
- **People come and go.** A learner is active or away; one learner a step may switch
  (about a quarter are away at a time). Away learners do nothing, so what they owe waits.
- **Falling behind and recovering.** Mentors review submissions: most are completed with
  a score, some are sent back for changes, and now and then a completed milestone is
  reopened. A milestone sent back or reopened after its due date puts its learner at risk
  until they resubmit it, which takes as long as they are away. Learners seeded as
  stalled start away and come back.
- **Reactions.** Kudos (from the mentor or a peer) and mentor comments on recent progress.

The rates (``WEIGHTS`` and the constants below) keep completion near where the calendar
puts it and about a tenth to a third of the learners at risk, for as long as it runs
(``tests/dashboard/test_simulator.py`` runs eight hours of it against the seeded demo).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import close_old_connections
from django.utils import timezone

from dashboard import clock
from dashboard.demo import COMMENTS
from dashboard.errors import DomainError
from dashboard.models import Cohort, Event, Membership, Milestone, Progress
from dashboard.selectors.stats import MilestoneDue, learner_risk
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add, kudos_add

logger = logging.getLogger(__name__)
Status = Progress.Status

# What a step does, by weight: a learner works, a mentor reviews a submission, a mentor
# reopens a completed milestone, kudos, a comment.
WEIGHTS = (("work", 0.55), ("review", 0.24), ("reopen", 0.03), ("kudos", 0.12), ("comment", 0.06))
SEND_BACK = 0.2  # share of reviews that ask for changes instead of completing
SUBMIT = 0.6  # chance a learner working on a milestone submits it this time
AWAY = 0.08  # chance the learner picked for presence goes away, if active
BACK = 0.2  # chance the learner picked for presence comes back, if away
LEAD_DAYS = (3.0, 4.0)  # mean and spread of a learner's lead on the calendar, in days
LEAD_RANGE = (-7.0, 14.0)
DRIFT = 0.05  # chance a step moves one learner's lead
STALLED_AFTER = timedelta(days=7)

DONE = frozenset({Status.SUBMITTED, Status.COMPLETED})


def _pick(roll: float) -> str:
    """Return the kind of step ``roll`` (uniform in [0, 1)) falls on in ``WEIGHTS``."""
    for kind, weight in WEIGHTS:
        if roll < weight:
            return kind
        roll -= weight
    return WEIGHTS[-1][0]


@dataclass(frozen=True)
class Action:
    """One change the model decided (and has applied to itself)."""

    kind: str  # "progress", "kudos" or "comment"
    learner: int | None = None  # the learner (membership) id of a progress change
    slug: str = ""
    status: str = ""
    by_mentor: bool = False
    score: int | None = None
    giver: int | None = None  # the learner giving kudos; None: the mentor
    text: str = ""


@dataclass
class _Learner:
    habit: float  # the lead on the calendar, in days, this learner returns to
    lead: float
    away: bool = False
    cells: dict[str, tuple[str, datetime]] = field(default_factory=dict)


class CohortModel:
    """One cohort's learners as the simulator sees them: cells, leads, who is away.

    Pure: feed it the cells (``load``) and the time (``step``); it decides one change,
    applies it to its own cells and returns it. A learner's habit comes from ``seed`` and
    their id, so a restarted simulator treats each learner the same way.
    """

    def __init__(
        self, *, start: date, milestones: Sequence[tuple[str, str, int]], seed: int = 0
    ) -> None:
        self.seed = seed
        self.slugs = [slug for slug, _, _ in milestones]
        self.due = {slug: start + timedelta(days=7 * week - 1) for slug, _, week in milestones}
        self.dues = [MilestoneDue(slug, title, self.due[slug]) for slug, title, _ in milestones]
        self.learners: dict[int, _Learner] = {}

    # State ------------------------------------------------------------------------------

    def load(self, cells: Mapping[int, Mapping[str, tuple[str, datetime]]], now: datetime) -> None:
        """Take the cohort's cells (learner id -> slug -> (status, updated_at)) as they are."""
        for learner_id, row in cells.items():
            learner = self.learners.get(learner_id)
            if learner is None:
                learner = self.learners[learner_id] = self._new_learner(learner_id, row, now)
            learner.cells = dict(row)
        for gone in set(self.learners) - set(cells):
            del self.learners[gone]

    def _new_learner(
        self, learner_id: int, row: Mapping[str, tuple[str, datetime]], now: datetime
    ) -> _Learner:
        habit_rng = random.Random(f"{self.seed}:{learner_id}")
        habit = min(LEAD_RANGE[1], max(LEAD_RANGE[0], habit_rng.gauss(*LEAD_DAYS)))
        last = max((at for _, at in row.values()), default=now)
        return _Learner(habit=habit, lead=habit, away=now - last > STALLED_AFTER)

    def completion(self) -> float:
        cells = [status for lr in self.learners.values() for status, _ in lr.cells.values()]
        return sum(s == Status.COMPLETED for s in cells) / len(cells) if cells else 0.0

    def at_risk(self, now: datetime) -> set[int]:
        """Return the learners at risk at ``now``, by the dashboard's own rule."""
        today = timezone.localdate(now)
        return {
            learner_id
            for learner_id, learner in self.learners.items()
            if learner_risk(cells=learner.cells, milestones=self.dues, today=today, now=now)
        }

    # Deciding --------------------------------------------------------------------------

    def step(self, now: datetime, rng: random.Random) -> Action | None:
        """Decide one change at ``now``, apply it to the model and return it (None: a
        quiet step)."""
        if not self.learners:
            return None
        ids = sorted(self.learners)
        self._churn(ids, rng)
        kind = _pick(rng.random())
        if kind == "work":
            action = self._work(rng.choice(ids), now, rng)
        elif kind == "review":
            action = self._review(rng)
        elif kind == "reopen":
            action = self._reopen(rng)
        elif kind == "kudos":
            giver = rng.choice([None, *ids])
            action = Action("kudos", giver=giver)
        else:
            action = Action("comment", text=rng.choice(COMMENTS))
        if action is not None and action.kind == "progress":
            assert action.learner is not None
            self.learners[action.learner].cells[action.slug] = (action.status, now)
        return action

    def _churn(self, ids: list[int], rng: random.Random) -> None:
        learner = self.learners[rng.choice(ids)]
        learner.away = (rng.random() >= BACK) if learner.away else (rng.random() < AWAY)
        if rng.random() < DRIFT:
            drifting = self.learners[rng.choice(ids)]
            lead = 0.7 * drifting.lead + 0.3 * drifting.habit + rng.gauss(0, 3)
            drifting.lead = min(LEAD_RANGE[1], max(LEAD_RANGE[0], lead))

    def _work(self, learner_id: int, now: datetime, rng: random.Random) -> Action | None:
        learner = self.learners[learner_id]
        if learner.away:
            return None
        horizon = timezone.localdate(now) + timedelta(days=learner.lead)
        for slug in self.slugs:
            status = learner.cells.get(slug, (Status.NOT_STARTED, now))[0]
            if status in DONE:
                continue
            if self.due[slug] > horizon:
                return None  # ahead of where this learner works on the calendar
            if status == Status.NOT_STARTED:
                return Action("progress", learner_id, slug, Status.IN_PROGRESS)
            if rng.random() < SUBMIT:
                return Action("progress", learner_id, slug, Status.SUBMITTED)
            return None
        return None

    def _cells_in(self, status: str) -> list[tuple[int, str]]:
        return [
            (learner_id, slug)
            for learner_id in sorted(self.learners)
            for slug, (s, _) in self.learners[learner_id].cells.items()
            if s == status
        ]

    def _review(self, rng: random.Random) -> Action | None:
        waiting = self._cells_in(Status.SUBMITTED)
        if not waiting:
            return None
        learner_id, slug = rng.choice(waiting)
        if rng.random() < SEND_BACK:
            return Action("progress", learner_id, slug, Status.IN_PROGRESS, by_mentor=True)
        score = int(min(100, max(55, rng.gauss(84, 9))))
        return Action("progress", learner_id, slug, Status.COMPLETED, by_mentor=True, score=score)

    def _reopen(self, rng: random.Random) -> Action | None:
        completed = self._cells_in(Status.COMPLETED)
        if not completed:
            return None
        learner_id, slug = rng.choice(completed)
        return Action("progress", learner_id, slug, Status.IN_PROGRESS, by_mentor=True)


# ======================================================================================
# Driving the database through the services
# ======================================================================================


class CohortDriver:
    """One cohort's model, fed from the database and written through the services."""

    RELOAD_EVERY = 50  # steps between reads of the cohort's members and calendar

    def __init__(self, cohort_id: int, *, seed: int = 0) -> None:
        self.cohort_id = cohort_id
        self.seed = seed
        self.model: CohortModel | None = None
        self.mentor: Any = None
        self.users: dict[int, Any] = {}  # learner id -> user
        self.steps = 0

    def _reload(self) -> None:
        cohort = Cohort.objects.get(pk=self.cohort_id)
        milestones = [
            (m.slug, m.title, m.week)
            for m in Milestone.objects.filter(program_id=cohort.program_id).order_by("order")
        ]
        model = CohortModel(start=cohort.start_date, milestones=milestones, seed=self.seed)
        if self.model is not None:
            model.learners = self.model.learners  # keep who is away and each lead
        self.model = model
        members = Membership.objects.filter(cohort_id=self.cohort_id).select_related("user")
        self.users = {m.pk: m.user for m in members if m.role == Membership.Role.LEARNER}
        mentor = next((m.user for m in members if m.role == Membership.Role.MENTOR), None)
        self.mentor = mentor

    def step(self, rng: random.Random) -> str | None:
        """Make one change in the cohort; return what was done, or None."""
        if self.model is None or self.steps % self.RELOAD_EVERY == 0:
            self._reload()
        self.steps += 1
        assert self.model is not None
        if self.mentor is None or not self.users:
            return None
        now = clock.now()
        rows = Progress.objects.filter(cohort_id=self.cohort_id).values_list(
            "learner_id", "milestone__slug", "status", "updated_at", "version"
        )
        cells: dict[int, dict[str, tuple[str, datetime]]] = {i: {} for i in self.users}
        versions: dict[tuple[int, str], int] = {}
        for learner_id, slug, status, updated_at, version in rows:
            if learner_id in cells:
                cells[learner_id][slug] = (status, updated_at)
                versions[(learner_id, slug)] = version
        self.model.load(cells, now)
        action = self.model.step(now, rng)
        if action is None:
            return None
        if action.kind == "progress":
            return self._progress(action, versions)
        return self._reaction(action, rng)

    def _progress(self, action: Action, versions: dict[tuple[int, str], int]) -> str:
        assert action.learner is not None
        actor = self.mentor if action.by_mentor else self.users[action.learner]
        extra = {"score": action.score} if action.status == Status.COMPLETED else {}
        progress_update(
            actor=actor,
            cohort_id=self.cohort_id,
            learner_id=action.learner,
            milestone_slug=action.slug,
            version=versions[(action.learner, action.slug)],
            status=action.status,
            **extra,
        )
        who = self.users[action.learner].username
        return f"{who} {action.slug} -> {action.status}"

    def _reaction(self, action: Action, rng: random.Random) -> str | None:
        recent = list(
            Event.objects.filter(cohort_id=self.cohort_id, kind=Event.Kind.PROGRESS_UPDATED)
            .order_by("-seq")
            .values_list("seq", flat=True)[:15]
        )
        if not recent:
            return None
        seq = rng.choice(recent)
        if action.kind == "kudos":
            giver = self.mentor if action.giver is None else self.users[action.giver]
            result = kudos_add(actor=giver, cohort_id=self.cohort_id, seq=seq)
            return f"kudos on #{seq}" if result.created else None
        comment_add(actor=self.mentor, cohort_id=self.cohort_id, seq=seq, text=action.text)
        return f"comment on #{seq}"


def simulate_step(*, cohort_id: int, rng: random.Random) -> str | None:
    """Make one plausible change in the cohort with a model of its own; return what was
    done, or None. ``run_simulator`` keeps its models between steps."""
    return CohortDriver(cohort_id).step(rng)


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
    drivers = [CohortDriver(cohort_id, seed=seed or 0) for cohort_id in cohort_ids]
    made = 0
    steps = 0
    while not stop.is_set() and (count is None or steps < count):
        if recycle_connections:
            close_old_connections()
        for driver in drivers:
            try:
                if driver.step(rng):
                    made += 1
            except DomainError as exc:  # a real user got there first: fine
                logger.debug("simulator step refused: %s", exc)
            except Exception:
                logger.exception("simulator step failed")
        steps += 1
        stop.wait(interval * rng.uniform(0.5, 1.5))
    return made
