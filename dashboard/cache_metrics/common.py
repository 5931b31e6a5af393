"""What the cache metrics share: their Redis namespace, windows and limits, the
errors that mean the cache server is not answering, and a rate-limited warning."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

# One logger for the package: its records keep the name they had as one module.
logger = logging.getLogger("dashboard.cache_metrics")


Clock = Callable[[], float]

# Every Redis key of the metrics (counters, samples, the sampler's lease) starts with this.
NAMESPACE = "dash:metrics:cache"
WINDOW_SECONDS = 60
RATE_SECONDS = 10  # ops_per_sec is the mean over this many complete seconds
HISTORY_SECONDS = 600
BUCKET_RETENTION = 180  # per-second counter buckets outlive the window comfortably
MAX_FAMILIES = 32

# Errors that mean "the cache server is not answering"; anything else is a bug and raises.
CACHE_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


class RateLimitedLog:
    """Log a warning at most once per ``every`` seconds, counting what it swallowed."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._last = -math.inf
        self._suppressed = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: Any) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.every:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        extra = f" ({suppressed} similar suppressed)" if suppressed else ""
        logger.warning(message + extra, *args)
        return True
