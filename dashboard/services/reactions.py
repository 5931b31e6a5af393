"""Reactions to events: kudos (one per person per event) and comments."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F

from dashboard.errors import InvalidInput, NotFound
from dashboard.models import Comment, Event, Kudos
from dashboard.selectors.access import cohort_role_or_404
from dashboard.services.events import cohort_log_lock, event_append
from dashboard.text import require_clean_text
from realtime.protocol import CommentData, comment_data

COMMENT_MAX_LENGTH = 500

# Reactions go on things that happened, not on other reactions.
_REACTION_KINDS = frozenset({Event.Kind.KUDOS_ADDED, Event.Kind.COMMENT_ADDED})


@dataclass(frozen=True)
class KudosResult:
    event_seq: int
    kudos: int
    created: bool


def _target_event(*, actor: User, cohort_id: int, seq: int) -> Event:
    cohort_role_or_404(user=actor, cohort_id=cohort_id)
    target = Event.objects.filter(cohort_id=cohort_id, seq=seq).first()
    if target is None:
        raise NotFound("No such event in this cohort.")
    if target.kind in _REACTION_KINDS:
        raise InvalidInput(
            "Kudos and comments go on events, not on other kudos or comments.",
            code="not_reactable",
        )
    return target


def _privacy(target: Event) -> dict[str, int]:
    """Return ``{"private_to": learner id}`` for a reaction to an event about a learner's
    risk: like its target, it reaches only that learner, mentors and staff
    (``dashboard/selectors/privacy.py``)."""
    if target.kind in (Event.Kind.LEARNER_AT_RISK, Event.Kind.LEARNER_ON_TRACK):
        learner_id = (target.data or {}).get("learner", {}).get("id")
        if isinstance(learner_id, int):
            return {"private_to": learner_id}
    return {}


def kudos_add(*, actor: User, cohort_id: int, seq: int) -> KudosResult:
    """Give kudos to event ``seq``; a second kudos by the same person changes nothing."""
    with transaction.atomic():
        target = _target_event(actor=actor, cohort_id=cohort_id, seq=seq)
        try:
            with transaction.atomic():
                Kudos.objects.create(event=target, user=actor)
        except IntegrityError:
            return KudosResult(event_seq=seq, kudos=_kudos_count(target.pk), created=False)
        Event.objects.filter(pk=target.pk).update(kudos_count=F("kudos_count") + 1)
        count = _kudos_count(target.pk)
        event_append(
            cohort_id=cohort_id,
            kind=Event.Kind.KUDOS_ADDED,
            actor=actor,
            data={"event": seq, "kudos": count, **_privacy(target)},
            learner_id=target.learner_id,
        )
    return KudosResult(event_seq=seq, kudos=count, created=True)


def _kudos_count(event_pk: int) -> int:
    return Event.objects.values_list("kudos_count", flat=True).get(pk=event_pk)


def comment_add(*, actor: User, cohort_id: int, seq: int, text: str) -> CommentData:
    """Comment on event ``seq``; ``text`` is stripped and must be 1-500 characters."""
    text = require_clean_text(text.strip(), field="text")
    if not text:
        raise InvalidInput("A comment needs text.", fields={"text": ["Must not be blank."]})
    if len(text) > COMMENT_MAX_LENGTH:
        raise InvalidInput(
            f"A comment is at most {COMMENT_MAX_LENGTH} characters.",
            fields={"text": [f"At most {COMMENT_MAX_LENGTH} characters."]},
        )
    with transaction.atomic():
        target = _target_event(actor=actor, cohort_id=cohort_id, seq=seq)
        # The target's row first, the cohort's log lock last (as kudos_add does).
        Event.objects.filter(pk=target.pk).update(comment_count=F("comment_count") + 1)
        now = cohort_log_lock(cohort_id=cohort_id)
        comment = Comment.objects.create(event=target, author=actor, text=text, created_at=now)
        data = comment_data(comment, seq)
        event_append(
            cohort_id=cohort_id,
            kind=Event.Kind.COMMENT_ADDED,
            actor=actor,
            data={**data, **_privacy(target)},
            at=comment.created_at,
            learner_id=target.learner_id,
        )
    return data
