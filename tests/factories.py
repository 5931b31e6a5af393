"""Small builders for tests: a program with milestones, a cohort with learners and a mentor."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from dashboard.models import Cohort, Membership, Milestone, Program
from dashboard.services.cohorts import learner_add, mentor_add

_ids = itertools.count(1)

MILESTONES = [("python", "Python", 1), ("django", "Django", 2), ("docker", "Docker", 6)]


def make_user(
    username: str | None = None, *, staff: bool = False, name: str = ""
) -> AbstractBaseUser:
    username = username or f"user{next(_ids)}"
    first, _, last = name.partition(" ")
    return get_user_model().objects.create_user(
        username=username, password=username, is_staff=staff, first_name=first, last_name=last
    )


def make_program(milestones: list[tuple[str, str, int]] = MILESTONES) -> Program:
    n = next(_ids)
    program = Program.objects.create(name=f"Program {n}", slug=f"program-{n}")
    Milestone.objects.bulk_create(
        Milestone(program=program, slug=slug, title=title, order=i, week=week)
        for i, (slug, title, week) in enumerate(milestones, start=1)
    )
    return program


@dataclass
class CohortWorld:
    cohort: Cohort
    mentor: AbstractBaseUser
    learners: list[Membership]

    @property
    def learner(self) -> Membership:
        return self.learners[0]


def make_cohort(
    *, learners: int = 3, program: Program | None = None, weeks_in: int = 3
) -> CohortWorld:
    program = program or make_program()
    start = timezone.localdate() - timedelta(weeks=weeks_in)
    cohort = Cohort.objects.create(
        program=program,
        name=f"Cohort {next(_ids)}",
        start_date=start,
        end_date=start + timedelta(weeks=16),
    )
    mentor = make_user(name="Mentor Person")
    mentor_add(cohort=cohort, user=mentor)
    members = [
        learner_add(actor=mentor, cohort=cohort, user=make_user(name=f"Learner {i}"))
        for i in range(learners)
    ]
    return CohortWorld(cohort=cohort, mentor=mentor, learners=members)
