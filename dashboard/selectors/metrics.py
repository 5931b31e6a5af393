"""Reads of the cache metrics."""

from __future__ import annotations

from typing import Any

from django.core.cache import caches

from dashboard.cache_metrics import (
    build_sample,
    default_recorder,
    latest_sample,
    sample_history,
)


def cache_metrics_overview(*, history: int, every: int = 1) -> dict[str, Any]:
    """Return the latest sample and up to ``history`` seconds of samples, oldest first,
    keeping one sample in ``every`` (the newest always among them).

    Before the sampler's first sample (or without a sampler) the current state is sampled
    on the spot, so ``current`` is always a real sample.
    """
    current = latest_sample()
    if current is None:
        current = build_sample(cache=caches["default"], recorder=default_recorder())
    samples = sample_history(history)
    # Counted from the newest, so the kept ones stay put as new samples arrive.
    kept = samples[::-1][::every][::-1]
    return {"current": current, "history": kept}
