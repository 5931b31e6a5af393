"""Key families and the log-scale latency histogram: pure maths, mergeable across
processes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_FAMILY = re.compile(r"[A-Za-z]+")


def key_family(key: Any) -> str:
    """Return the key's family: its leading letters, lower-cased (``throttle_write_3``
    and ``snapshot:1:v`` give ``throttle`` and ``snapshot``)."""
    match = _FAMILY.match(str(key))
    return match.group(0).lower()[:24] if match else "other"


# Log-scale buckets: bucket i holds latencies in [BASE * R**i, BASE * R**(i+1)) ms, so a
# percentile read back from the histogram is within R (19%) of the true value.
_LAT_BASE_MS = 0.001
_LAT_RATIO = 2**0.25
_LAT_LOG = math.log(_LAT_RATIO)


def latency_bucket(ms: float) -> int:
    """Return the histogram bucket of a latency in milliseconds."""
    if ms <= _LAT_BASE_MS:
        return 0
    return int(math.log(ms / _LAT_BASE_MS) / _LAT_LOG)


def bucket_ms(index: int) -> float:
    """Return the representative latency of a bucket (its geometric middle)."""
    return _LAT_BASE_MS * _LAT_RATIO ** (index + 0.5)


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """Return the ``q`` quantile (0-1) of a latency histogram, or None when it is empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return round(bucket_ms(index), 4)
    return round(bucket_ms(max(histogram)), 4)  # pragma: no cover - rank <= total


def ratio(hits: int, misses: int) -> float | None:
    """Return hits / (hits + misses), or None when there were no lookups."""
    looked = hits + misses
    return round(hits / looked, 4) if looked else None
