"""Progress writes: the status machine of product.md with optimistic concurrency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NoReturn

from django.contrib.auth.models import User
from django.db import transaction

from dashboard.errors import Forbidden, InvalidInput, NotFound, VersionConflict
from dashboard.formats import display_name, iso_ms
from dashboard.models import Event, Membership, Progress
from dashboard.selectors.access import cohort_role_or_404
from dashboard.services.events import cohort_log_lock, event_append

Status = Progress.Status

# What a learner may do to their own cells; mentors and staff may make any change.
LEARNER_TRANSITIONS: Final = frozenset(
    {
        (Status.NOT_STARTED, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.SUBMITTED),
        (Status.SUBMITTED, Status.IN_PROGRESS),
    }
)

_UNSET: Final = object()


@dataclass(frozen=True)
class ProgressChange:
    progress: Progress
    milestone_slug: str
    seq: int | None  # the event this write appended; None when nothing changed


def progress_payload(progress: Progress, milestone_slug: str) -> dict[str, object]:
    """Return the REST shape of one progress cell (without ``seq``)."""
    return {
        "learner": progress.learner_id,
        "milestone": milestone_slug,
        "status": progress.status,
        "score": progress.score,
        "version": progress.version,
        "updated_at": iso_ms(progress.updated_at),
    }


def progress_update(
    *,
    actor: User,
    cohort_id: int,
    learner_id: int,
    milestone_slug: str,
    version: int,
    status: str | None = None,
    score: int | object | None = _UNSET,
) -> ProgressChange:
    """Change a learner's status and/or score on a milestone, appending ``progress.updated``.

    ``score`` left out keeps the current score; ``None`` clears it. Raise ``NotFound`` for a
    cohort, learner or milestone the actor cannot see, ``Forbidden`` for another learner's
    cell, ``InvalidInput`` for a transition or score the actor may not make, and
    ``VersionConflict`` when ``version`` is stale. A refused write leaves nothing behind.
    """
    role = cohort_role_or_404(user=actor, cohort_id=cohort_id)
    if status is None and score is _UNSET:
        raise InvalidInput("Give a status, a score, or both.", fields={"status": ["Required."]})
    if status is not None and status not in Status.values:
        raise InvalidInput(f"Unknown status {status!r}.", fields={"status": ["Invalid choice."]})
    if (
        score is not _UNSET
        and score is not None
        and not (isinstance(score, int) and 0 <= score <= 100)
    ):
        raise InvalidInput("Score must be 0-100.", fields={"score": ["Must be 0-100."]})

    with transaction.atomic():
        cell = _cell_for_update(
            cohort_id=cohort_id, learner_id=learner_id, milestone_slug=milestone_slug
        )
        if cell is None:
            _raise_missing(role, actor, cohort_id=cohort_id, learner_id=learner_id)
        progress, learner_user = cell.progress, cell.learner_user
        if role == "learner" and learner_user.pk != actor.pk:
            raise Forbidden("Learners change only their own progress.")
        if progress.version != version:
            raise VersionConflict(
                "This cell changed since you loaded it.",
                current=progress_payload(progress, milestone_slug),
            )

        previous = progress.status
        new_status = status if status is not None else previous
        if score is _UNSET:
            new_score = progress.score if new_status == Status.COMPLETED else None
        else:
            new_score = score  # type: ignore[assignment]
        _check_change(role, previous, new_status, given_score=score is not _UNSET, score=new_score)

        if new_status == previous and new_score == progress.score:
            return ProgressChange(progress=progress, milestone_slug=milestone_slug, seq=None)

        now = cohort_log_lock(cohort_id=cohort_id)
        progress.status = new_status
        progress.score = new_score
        progress.version += 1
        progress.updated_at = now
        if new_status == Status.COMPLETED and previous != Status.COMPLETED:
            progress.completed_at = now
        elif new_status != Status.COMPLETED:
            progress.completed_at = None
        _cell_save(progress)

        event = event_append(
            cohort_id=cohort_id,
            kind=Event.Kind.PROGRESS_UPDATED,
            actor=actor,
            at=now,
            data={
                "learner": {"id": learner_id, "name": display_name(learner_user)},
                "milestone": milestone_slug,
                "status": new_status,
                "previous_status": previous,
                "score": new_score,
                "version": progress.version,
            },
        )
    return ProgressChange(progress=progress, milestone_slug=milestone_slug, seq=event.seq)


# --------------------------------------------------------------------------------------
# The cell's statements, written out
# --------------------------------------------------------------------------------------
# Every progress write runs them. Built with the ORM (``select_for_update`` with two levels
# of ``select_related`` and a filter across joins, then ``save(update_fields=...)``), they
# cost ~2.3 ms of CPU per write in Django's query building; written out, ~0.6 ms
# (docs/performance-history.md, "What session 6 changed"). Both run on SQLite and
# PostgreSQL.

_CELL = """
SELECT p.id, p.learner_id, p.milestone_id, p.cohort_id, p.status, p.score, p.version,
       p.updated_at, p.completed_at,
       u.id AS learner_user_id, u.username AS learner_username,
       u.first_name AS learner_first_name, u.last_name AS learner_last_name
  FROM dashboard_progress p
  JOIN dashboard_membership l ON l.id = p.learner_id
  JOIN auth_user u ON u.id = l.user_id
  JOIN dashboard_milestone m ON m.id = p.milestone_id
 WHERE p.cohort_id = %s AND p.learner_id = %s AND l.role = %s AND m.slug = %s
"""
# Only the cell's row: the learner, their user and the milestone stay unlocked.
_CELL_LOCKED = _CELL + " FOR UPDATE OF p"

_CELL_SAVE = """
UPDATE dashboard_progress
   SET status = %s, score = %s, version = %s, updated_at = %s, completed_at = %s
 WHERE id = %s
"""


@dataclass(frozen=True)
class _Cell:
    progress: Progress
    learner_user: User  # id and names only: enough for ``display_name``


def _cell_for_update(*, cohort_id: int, learner_id: int, milestone_slug: str) -> _Cell | None:
    """Return the learner's cell on the milestone with its row locked to commit, or None.

    None covers a learner or milestone that is not there or not in this cohort; the
    caller asks which only then. On SQLite the transaction's ``BEGIN IMMEDIATE`` holds the
    database's write lock instead of a row lock.
    """
    connection = transaction.get_connection()
    sql = _CELL_LOCKED if connection.features.has_select_for_update_of else _CELL
    params = [cohort_id, learner_id, Membership.Role.LEARNER, milestone_slug]
    # ``raw()`` applies the fields' converters (aware datetimes on both databases).
    progress = next(iter(Progress.objects.raw(sql, params)), None)
    if progress is None:
        return None
    extra = progress.__dict__
    user = User(
        id=extra["learner_user_id"],
        username=extra["learner_username"],
        first_name=extra["learner_first_name"],
        last_name=extra["learner_last_name"],
    )
    return _Cell(progress=progress, learner_user=user)


def _cell_save(progress: Progress) -> None:
    """Write the cell's changed columns (status, score, version and the two times)."""
    connection = transaction.get_connection()
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            _CELL_SAVE,
            [
                progress.status,
                progress.score,
                progress.version,
                ops.adapt_datetimefield_value(progress.updated_at),
                ops.adapt_datetimefield_value(progress.completed_at),
                progress.pk,
            ],
        )


def _raise_missing(role: str, actor: User, *, cohort_id: int, learner_id: int) -> NoReturn:
    """Raise the error for a cell that is not there: no learner, not theirs, no milestone."""
    owner = (
        Membership.objects.filter(pk=learner_id, cohort_id=cohort_id, role=Membership.Role.LEARNER)
        .values_list("user_id", flat=True)
        .first()
    )
    if owner is None:
        raise NotFound("No such learner in this cohort.")
    if role == "learner" and owner != actor.pk:
        raise Forbidden("Learners change only their own progress.")
    raise NotFound("No such milestone in this cohort's program.")


def _check_change(
    role: str, previous: str, new_status: str, *, given_score: bool, score: int | None
) -> None:
    if role == "learner":
        if given_score:
            raise InvalidInput(
                "Only mentors and staff set scores.",
                code="score_not_allowed",
                fields={"score": ["Only mentors and staff set scores."]},
            )
        if new_status != previous and (previous, new_status) not in LEARNER_TRANSITIONS:
            raise InvalidInput(
                f"A learner cannot move a milestone from {previous} to {new_status}.",
                code="transition_not_allowed",
                fields={"status": [f"Not allowed from {previous}."]},
            )
        return
    if new_status == Status.COMPLETED and score is None:
        raise InvalidInput(
            "Completing a milestone needs a score (0-100).",
            code="score_required",
            fields={"score": ["Required when completed."]},
        )
    if new_status != Status.COMPLETED and score is not None:
        raise InvalidInput(
            "Only a completed milestone has a score.",
            code="score_not_allowed",
            fields={"score": ["Only completed milestones are scored."]},
        )
