"""The hub's database reads: a cohort's head, a replay for one socket, a gap's events.

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


def _pages(
    cohort_id: int, after: int, upto: int, limit: int, viewer: Any = None
) -> list[tuple[int, str]]:
    """Return the encoded events ``after < seq <= upto`` that the database has, read
    ``limit`` at a time (the one paging loop of the reads)."""
    from dashboard.selectors.cohorts import events_after

    out: list[tuple[int, str]] = []
    while after < upto:
        page, _ = events_after(cohort_id=cohort_id, after=after, limit=limit, viewer=viewer)
        page = [e for e in page if e["seq"] <= upto]
        if not page:
            break
        out.extend((e["seq"], _as_published(e)) for e in page)
        after = page[-1]["seq"]
    return out


def read_replay(
    cohort_id: int, since: int, limit: int, viewer: Any = None
) -> tuple[int, list[str] | None]:
    """Return the head and the encoded events ``since < seq <= head`` as ``viewer`` may
    see them, or None when the replay is impossible: over ``limit`` events, ``since``
    ahead of the head, or rows gone."""
    from dashboard.selectors.cohorts import events_after

    events, head = events_after(cohort_id=cohort_id, after=since, limit=limit, viewer=viewer)
    if since > head or head - since > limit:
        return head, None
    out = [_as_published(e) for e in events]
    last = events[-1]["seq"] if events else since
    out.extend(text for _, text in _pages(cohort_id, last, head, limit, viewer))
    if len(out) != head - since:  # the log was reset or pruned
        return head, None
    return head, out


def read_range(cohort_id: int, after: int, upto: int) -> list[tuple[int, str]]:
    """Return the encoded events ``after < seq <= upto`` that the database has."""
    return _pages(cohort_id, after, upto, upto - after)


def latest_metrics() -> dict[str, Any] | None:
    from dashboard.cache_metrics import latest_sample

    return latest_sample()
