"""Where samples are kept: the latest one and the history (memory or Redis)."""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any, Protocol

import redis

from dashboard import redis_clients
from dashboard.cache_metrics.common import HISTORY_SECONDS, NAMESPACE


class SampleStore(Protocol):
    def push(self, sample: dict[str, Any]) -> None: ...

    def latest(self) -> dict[str, Any] | None: ...

    def history(self, limit: int = HISTORY_SECONDS) -> list[dict[str, Any]]: ...


class MemorySampleStore:
    def __init__(self, size: int = HISTORY_SECONDS) -> None:
        self._samples: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def push(self, sample: dict[str, Any]) -> None:
        with self._lock:
            self._samples.append(sample)

    def latest(self) -> dict[str, Any] | None:
        with self._lock:
            return self._samples[-1] if self._samples else None

    def history(self, limit: int = HISTORY_SECONDS) -> list[dict[str, Any]]:
        """Return up to ``limit`` samples, oldest first."""
        with self._lock:
            return list(self._samples)[-limit:] if limit > 0 else []


class RedisSampleStore:
    """``{ns}:latest`` (a JSON string) and ``{ns}:history`` (a list, newest first)."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = NAMESPACE,
        size: int = HISTORY_SECONDS,
        client: redis.Redis | None = None,
    ) -> None:
        self.client = client or redis_clients.client(url)
        self.namespace = namespace
        self.size = size

    def push(self, sample: dict[str, Any]) -> None:
        data = json.dumps(sample, separators=(",", ":"))
        pipe = self.client.pipeline(transaction=True)
        pipe.set(f"{self.namespace}:latest", data, ex=3600)
        pipe.lpush(f"{self.namespace}:history", data)
        pipe.ltrim(f"{self.namespace}:history", 0, self.size - 1)
        pipe.execute()

    def latest(self) -> dict[str, Any] | None:
        raw = self.client.get(f"{self.namespace}:latest")
        return json.loads(raw) if raw else None

    def history(self, limit: int = HISTORY_SECONDS) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        raw = self.client.lrange(f"{self.namespace}:history", 0, min(limit, self.size) - 1)
        return [json.loads(item) for item in reversed(raw)]
