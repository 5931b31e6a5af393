"""The hub's database reads: a cohort's head, a replay (every form), a gap's events.

Each runs in the ORM thread (callers wrap it in ``database_sync_to_async``) and reads
through ``dashboard.selectors``; events come back encoded as they were published.
"""

from __future__ import annotations

from typing import Any


def _as_published(event: Any) -> str:
    """Encode a logged event; ``events_after`` gives it as it was published (reaction
    counts 0), so a replayed or gap-filled event looks exactly like the live one did."""
    from realtime.protocol import dumps

    return dumps(event)


def read_head(cohort_id: int) -> int:
    from dashboard.selectors.cohorts import events_after

    _, head = events_after(cohort_id=cohort_id, after=0, limit=0)
    return head


def _pages(cohort_id: int, after: int, upto: int, limit: int) -> list[Any]:
    """Return the events ``after < seq <= upto`` that the database has, in full, read
    ``limit`` at a time (the one paging loop of the reads)."""
    from dashboard.selectors.cohorts import events_after

    out: list[Any] = []  # event payloads
    while after < upto:
        page, _ = events_after(cohort_id=cohort_id, after=after, limit=limit)
        page = [e for e in page if e["seq"] <= upto]
        if not page:
            break
        out.extend(page)
        after = page[-1]["seq"]
    return out


class Replay:
    """A replay read once, in full, and given to each viewer in its own form.

    The forms follow ``privacy.event_for`` event by event: mentors and staff (and a
    viewer of None) get ``full``; a learner gets ``full`` for the events about themself
    (``subjects``) and ``redacted`` for the others. So one database read serves every
    audience (``subscribing.SharedReplays``), and no learner gets a peer's score.
    """

    __slots__ = ("full", "redacted", "subjects")

    def __init__(self, events: list[Any]) -> None:
        from dashboard.selectors.privacy import event_subject, redacted_event

        self.full = [_as_published(e) for e in events]
        # A form per event for the other learners: the full text itself when nothing in
        # the event is private (``redacted_event`` returns the payload unchanged).
        self.redacted: list[str] = []
        self.subjects: list[int | None] = []
        for event, text in zip(events, self.full, strict=True):
            hidden = redacted_event(event)
            self.redacted.append(text if hidden is event else _as_published(hidden))
            self.subjects.append(event_subject(event))

    def __len__(self) -> int:
        return len(self.full)

    def for_viewer(self, viewer: Any) -> list[str]:
        """The encoded events as ``viewer`` may see them (None: in full)."""
        if viewer is None or viewer.sees_all:
            return self.full
        own = viewer.learner_id
        return [
            full if own is not None and subject == own else redacted
            for full, redacted, subject in zip(self.full, self.redacted, self.subjects, strict=True)
        ]


def read_replay(cohort_id: int, since: int, limit: int) -> tuple[int, Replay | None]:
    """Return the head and the events ``since < seq <= head`` (every form, see
    ``Replay``), or None when the replay is impossible: over ``limit`` events, ``since``
    ahead of the head, or rows gone."""
    from dashboard.selectors.cohorts import events_after

    page, head = events_after(cohort_id=cohort_id, after=since, limit=limit)
    events: list[Any] = list(page)
    if since > head or head - since > limit:
        return head, None
    last = events[-1]["seq"] if events else since
    events.extend(_pages(cohort_id, last, head, limit))
    if len(events) != head - since:  # the log was reset or pruned
        return head, None
    return head, Replay(events)


def read_range(cohort_id: int, after: int, upto: int) -> list[tuple[int, str]]:
    """Return the encoded events ``after < seq <= upto`` that the database has."""
    return [(e["seq"], _as_published(e)) for e in _pages(cohort_id, after, upto, upto - after)]


def latest_metrics() -> dict[str, Any] | None:
    from dashboard.cache_metrics import latest_sample

    return latest_sample()
