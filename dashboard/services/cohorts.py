"""Cohort membership and cohort details."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from dashboard.errors import InvalidInput
from dashboard.formats import cohort_dict, display_name, progress_cell
from dashboard.models import Cohort, Event, Membership, Milestone, Progress
from dashboard.services.events import cohort_log_lock, event_append
from dashboard.text import require_clean_text


def learner_add(*, actor: User | None, cohort: Cohort, user: User) -> Membership:
    """Enrol ``user`` as a learner: a membership, a not-started cell per milestone, one event."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    user=user, cohort=cohort, role=Membership.Role.LEARNER
                )
        except IntegrityError as exc:
            raise InvalidInput("Already a member of this cohort.", code="already_member") from exc
        now = cohort_log_lock(cohort_id=cohort.pk)
        milestones = list(Milestone.objects.filter(program_id=cohort.program_id))
        Progress.objects.bulk_create(
            Progress(learner=membership, milestone=m, cohort=cohort, updated_at=now)
            for m in milestones
        )
        event_append(
            cohort_id=cohort.pk,
            kind=Event.Kind.LEARNER_ADDED,
            actor=actor,
            at=now,
            data={
                # id: the learner id (as in the snapshot); user: to match presence entries.
                "learner": {"id": membership.pk, "name": display_name(user), "user": user.pk},
                "progress": {
                    m.slug: progress_cell(
                        status=Progress.Status.NOT_STARTED, score=None, version=1, updated_at=now
                    )
                    for m in milestones
                },
            },
        )
    return membership


def mentor_add(*, cohort: Cohort, user: User) -> Membership:
    """Make ``user`` a mentor of the cohort (no event: the matrix does not change)."""
    membership, _ = Membership.objects.get_or_create(
        user=user, cohort=cohort, defaults={"role": Membership.Role.MENTOR}
    )
    return membership


# The ``cohort.updated`` event's ``data.cohort``: the cohort as the API shows it.
cohort_payload = cohort_dict


def cohort_update(
    *,
    actor: User | None,
    cohort: Cohort,
    name: str | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
) -> Cohort:
    """Change a cohort's name or dates, appending ``cohort.updated``."""
    with transaction.atomic():
        locked = Cohort.objects.select_for_update().select_related("program").get(pk=cohort.pk)
        if name is not None:
            locked.name = require_clean_text(name.strip(), field="name")
        if start_date is not None:
            locked.start_date = start_date
        if end_date is not None:
            locked.end_date = end_date
        if not locked.name:
            raise InvalidInput("A cohort needs a name.", fields={"name": ["Must not be blank."]})
        if locked.end_date < locked.start_date:
            raise InvalidInput(
                "The end date is before the start.", fields={"end_date": ["Too early."]}
            )
        locked.save(update_fields=["name", "start_date", "end_date"])
        event_append(
            cohort_id=locked.pk,
            kind=Event.Kind.COHORT_UPDATED,
            actor=actor,
            data={"cohort": cohort_payload(locked)},
        )
    return locked


__all__ = ["cohort_payload", "cohort_update", "learner_add", "mentor_add"]
