"""Every Redis client of the process, built here: named timeouts, one pool per purpose.

A pool is made once per (URL, timeouts) and shared by every thread of the process, so a
request reuses a connection a previous request opened instead of connecting again
(before this, Django built a cache backend, and with it a pool, per request context:
every HTTP request opened a TCP connection to Redis). redis-py pools are thread-safe and
reset themselves in a forked child. asyncio clients cannot be shared between event
loops, so ``async_client`` makes one per call and its caller keeps it per loop.

Not imported from Django: the settings module uses it too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import redis
from redis import asyncio as aioredis
from redis.driver_info import DriverInfo


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect, and to wait for an answer (None: no limit)."""

    connect: float
    read: float | None


#: A request's path (the cache): a dead Redis must cost a request milliseconds, not seconds.
REQUEST = Timeouts(connect=0.25, read=0.5)
#: Background work (the cache's counters and samples, the sampler's lease, readiness).
BACKGROUND = Timeouts(connect=1.0, read=1.0)
#: Presence: a burst of hundreds of joins queues on a bounded pool; its scripts may wait.
PRESENCE = Timeouts(connect=2.0, read=2.0)
#: The channel layer: its reads block on purpose (pub/sub, BZPOPMIN), so no read limit.
LAYER = Timeouts(connect=1.0, read=None)

#: A connection idle this long is checked with a PING before it is used again.
HEALTH_CHECK_INTERVAL = 30

#: redis-py's CLIENT SETINFO data, looked up once: built per connection it reads the
#: package metadata each time (``importlib.metadata``, measured at 13.5 % of a server's
#: CPU when every request connected).
DRIVER_INFO = DriverInfo()

_pools: dict[tuple[str, Timeouts], redis.ConnectionPool] = {}
_pools_lock = threading.Lock()


def connection_options(timeouts: Timeouts) -> dict[str, Any]:
    """Return the connection keywords of ``timeouts`` (for any redis-py pool or client)."""
    return {
        "socket_connect_timeout": timeouts.connect,
        "socket_timeout": timeouts.read,
        "driver_info": DRIVER_INFO,
    }


def pool(url: str, timeouts: Timeouts = BACKGROUND) -> redis.ConnectionPool:
    """Return the process's pool for ``url`` and ``timeouts`` (made on first use)."""
    key = (url, timeouts)
    found = _pools.get(key)
    if found is None:
        with _pools_lock:
            found = _pools.get(key)
            if found is None:
                found = _pools[key] = redis.ConnectionPool.from_url(
                    url, health_check_interval=HEALTH_CHECK_INTERVAL, **connection_options(timeouts)
                )
    return found


def client(url: str, timeouts: Timeouts = BACKGROUND) -> redis.Redis:
    """Return a client on the process's shared pool (closing it leaves the pool open)."""
    return redis.Redis(connection_pool=pool(url, timeouts))


def async_client(url: str, timeouts: Timeouts, *, max_connections: int) -> aioredis.Redis:
    """Return an asyncio client for the running loop, on a bounded pool of its own: a
    burst waits for a free connection (up to the connect timeout plus 3 s) instead of
    failing. Closing the client closes its pool."""
    blocking = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeouts.connect + 3,
        **connection_options(timeouts),
    )
    return aioredis.Redis.from_pool(blocking)


class SharedConnectionPool(redis.ConnectionPool):
    """``pool_class`` for Django's ``RedisCache``: hand every backend instance the
    process's pool instead of a new one (Django makes a backend per request context)."""

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Any:
        timeouts = Timeouts(
            connect=kwargs.pop("socket_connect_timeout", REQUEST.connect),
            read=kwargs.pop("socket_timeout", REQUEST.read),
        )
        kwargs.pop("parser_class", None)  # Django passes redis-py's default
        if kwargs:
            raise TypeError(f"unsupported Redis cache options: {sorted(kwargs)}")
        return pool(url, timeouts)


def cache_options(timeouts: Timeouts = REQUEST) -> dict[str, Any]:
    """Return the ``OPTIONS`` of Django's ``RedisCache`` for the shared pool."""
    return {
        "pool_class": "dashboard.redis_clients.SharedConnectionPool",
        "socket_connect_timeout": timeouts.connect,
        "socket_timeout": timeouts.read,
    }


def channel_layer_host(url: str) -> dict[str, Any]:
    """Return a ``hosts`` entry of channels_redis' layers for ``url``."""
    return {"address": url, **connection_options(LAYER)}
