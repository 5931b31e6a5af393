"""Reads of comments."""

from __future__ import annotations

from dashboard.errors import NotFound
from dashboard.models import Comment, Event
from realtime.protocol import CommentData, comment_data

COMMENTS_PAGE_MAX = 200


def event_comments(*, cohort_id: int, seq: int, after: int, limit: int) -> list[CommentData]:
    """Return the comments on event ``seq`` with id > ``after``, oldest first."""
    if not Event.objects.filter(cohort_id=cohort_id, seq=seq).exists():
        raise NotFound("No such event in this cohort.")
    comments = (
        Comment.objects.filter(event__cohort_id=cohort_id, event__seq=seq, pk__gt=after)
        .select_related("author")
        .order_by("pk")[: min(limit, COMMENTS_PAGE_MAX)]
    )
    return [comment_data(c, seq) for c in comments]
