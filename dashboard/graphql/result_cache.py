"""The executed answer of a cohort query, kept per process and keyed by everything it is
made of.

A query whose one root field is ``cohort(id)`` and whose resolvers read nothing but the
caller's view of that cohort's snapshot (``Context.snapshot``: no clock, no other
selector; a resolver that reads more calls ``Context.not_snapshot_only``) has an answer
that is a function of: the document text, the operation name, the variables, the
audience (everyone who sees all, or one learner) and the content of that snapshot. The
key is a hash of exactly those, the snapshot's content included (every field but
``generated_at``, which no GraphQL field shows). So:

- the cache needs no invalidation of its own: a write, a presence change, a learner
  crossing a risk threshold as the clock turns, or a new cache generation changes the
  snapshot, hence the key. Consistency is the snapshot's (REST's): both doors read the
  same ``cohort_snapshot``, cached per cohort version and invalidated by every write;
- privacy holds by construction: a learner's snapshot is already redacted for them, and
  the audience is in the key as well;
- what it saves is graphql-core's execution (every field of every learner's every cell,
  one by one), not the snapshot read, which each request still makes as REST's does.

Bounded: ``GRAPHQL_RESULT_CACHE`` answers (0: off) and ``GRAPHQL_RESULT_CACHE_BYTES``,
least recently used first out. Answers with errors are not kept.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from dashboard.graphql.context import Context, parse_id

_EXCLUDED = frozenset({"generated_at"})  # in the snapshot, in no GraphQL field


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    stored: int = 0


class ResultCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.stats = Stats()

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return body

    def put(self, key: bytes, body: bytes) -> None:
        limit, max_bytes = _limits()
        if limit <= 0 or len(body) > max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._entries[key] = body
            self._bytes += len(body)
            self.stats.stored += 1
            while len(self._entries) > limit or self._bytes > max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.stats = Stats()


results = ResultCache()


def _limits() -> tuple[int, int]:
    return (
        int(getattr(settings, "GRAPHQL_RESULT_CACHE", 128)),
        int(getattr(settings, "GRAPHQL_RESULT_CACHE_BYTES", 32 * 1024 * 1024)),
    )


def enabled() -> bool:
    return _limits()[0] > 0


def _fingerprint(snapshot: dict[str, Any]) -> bytes | None:
    """Return a digest of the snapshot's content: equal digests, equal snapshots.

    Pickle bytes determine the value they load back as, so equal bytes mean equal content.
    Without the memo (``fast``), the bytes do not depend on which objects are shared, so a
    bundle read from the cache and the same bundle just built give the same digest.
    """
    content = [(k, v) for k, v in snapshot.items() if k not in _EXCLUDED]
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=5)
    pickler.fast = True  # no memo: layout-independent (the snapshot has no cycles)
    try:
        pickler.dump(content)
    except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError):
        return None
    return hashlib.blake2b(out.getbuffer(), digest_size=20).digest()


def key_for(
    *,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any],
    root: tuple[str, dict[str, Any]] | None,
    context: Context,
) -> bytes | None:
    """Return the answer's key, or None when the operation is not one the cache may keep
    (its root is not one ``cohort`` field, or the cohort is not the caller's to see).

    Reads the caller's viewer and snapshot into ``context``, where the execution of a
    miss finds them: a miss costs no read twice.
    """
    if root is None or root[0] != "cohort":
        return None
    cohort_id = parse_id(root[1].get("id"))
    if cohort_id is None:
        return None
    viewer = context.viewer(cohort_id)
    if viewer is None:
        return None
    audience = "all" if viewer.sees_all else f"learner:{viewer.learner_id}"
    fingerprint = _fingerprint(context.snapshot(cohort_id))
    if fingerprint is None:
        return None
    digest = hashlib.blake2b(digest_size=20)
    for part in (
        query,
        operation_name or "",
        json.dumps(variables, sort_keys=True, separators=(",", ":")),
        audience,
        str(cohort_id),
    ):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(fingerprint)
    return digest.digest()
