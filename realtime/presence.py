"""Who is viewing a cohort now: one entry per person, whatever their tabs or processes.

Each server process counts its own sockets per (cohort, person) and tells the store only
when a person appears in or disappears from the process. The store answers whether that
was a join or a leave of the *person* (the first of their sockets anywhere, or the last).

- ``MemoryPresence`` (no ``REDIS_URL``): one process, a dict.
- ``RedisPresence``: per cohort a sorted set ``member -> expiry`` where a member is
  ``"{user_id}|{process}"``, a lexicographic index of the same members (to find a person's
  other processes in O(log n)), and a hash ``user_id -> entry``. Lua scripts make each
  join, leave and sweep atomic, and read the clock of Redis so processes need not agree
  on time. Processes refresh their members every ``PRESENCE_HEARTBEAT`` seconds; a member
  not refreshed for ``PRESENCE_TTL`` seconds is swept (by any live process) and its person
  leaves if no other member of theirs is left. A process killed with SIGKILL therefore
  disappears within ``PRESENCE_TTL + PRESENCE_SWEEP`` seconds (15 + 5 by default).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import uuid
from typing import Any, Protocol

from django.conf import settings

from dashboard import redis_clients
from realtime.protocol import PresenceEntry

logger = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PresenceStore(Protocol):
    async def join(self, cohort_id: int, entry: PresenceEntry) -> PresenceEntry | None:
        """Record this process's viewer; return the entry when the person just appeared."""

    async def leave(self, cohort_id: int, user_id: int) -> PresenceEntry | None:
        """Drop this process's viewer; return the entry when the person is gone everywhere."""

    async def snapshot(self, cohort_id: int) -> list[PresenceEntry]:
        """Return the viewers of the cohort now, oldest first."""

    async def heartbeat(self, entries: list[tuple[int, PresenceEntry]]) -> list[tuple[int, Any]]:
        """Refresh this process's viewers; return (cohort, entry) joins of re-added people."""

    async def sweep(self) -> list[tuple[int, PresenceEntry]]:
        """Drop expired viewers; return (cohort, entry) for each person who left."""

    def snapshot_sync(self, cohort_id: int) -> list[PresenceEntry]: ...

    async def close(self) -> None: ...


def _ordered(entries: list[PresenceEntry]) -> list[PresenceEntry]:
    return sorted(entries, key=lambda e: (e["since"], e["user"]["id"]))


# --------------------------------------------------------------------------------------
# In memory (the embedded default: one process)
# --------------------------------------------------------------------------------------


class MemoryPresence:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # the REST snapshot reads from a worker thread
        self._cohorts: dict[int, dict[int, PresenceEntry]] = {}

    async def join(self, cohort_id: int, entry: PresenceEntry) -> PresenceEntry | None:
        with self._lock:
            viewers = self._cohorts.setdefault(cohort_id, {})
            if entry["user"]["id"] in viewers:
                return None
            viewers[entry["user"]["id"]] = entry
            return entry

    async def leave(self, cohort_id: int, user_id: int) -> PresenceEntry | None:
        with self._lock:
            viewers = self._cohorts.get(cohort_id, {})
            entry = viewers.pop(user_id, None)
            if not viewers:
                self._cohorts.pop(cohort_id, None)
            return entry

    async def snapshot(self, cohort_id: int) -> list[PresenceEntry]:
        return self.snapshot_sync(cohort_id)

    def snapshot_sync(self, cohort_id: int) -> list[PresenceEntry]:
        with self._lock:
            return _ordered(list(self._cohorts.get(cohort_id, {}).values()))

    async def heartbeat(self, entries: list[tuple[int, PresenceEntry]]) -> list[tuple[int, Any]]:
        return []

    async def sweep(self) -> list[tuple[int, PresenceEntry]]:
        return []

    async def close(self) -> None:
        return None


# --------------------------------------------------------------------------------------
# Redis (several processes)
# --------------------------------------------------------------------------------------

# KEYS: exp zset, idx zset, info hash, cohorts set. ARGV: cohort id, member, user id,
# ttl ms, entry json. Return the entry json when the person just appeared, else nil.
_JOIN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member, uid = ARGV[2], ARGV[3]
local own = redis.call('ZSCORE', KEYS[1], member)
local present = own and tonumber(own) > now
if not present then
  local others = redis.call('ZRANGEBYLEX', KEYS[2], '[' .. uid .. '|', '[' .. uid .. '|\\255')
  for _, m in ipairs(others) do
    if m ~= member then
      local s = redis.call('ZSCORE', KEYS[1], m)
      if s and tonumber(s) > now then present = true break end
    end
  end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), member)
redis.call('ZADD', KEYS[2], 0, member)
redis.call('SADD', KEYS[4], ARGV[1])
if present and redis.call('HEXISTS', KEYS[3], uid) == 1 then return nil end
redis.call('HSET', KEYS[3], uid, ARGV[5])
return ARGV[5]
"""

# KEYS: exp, idx, info. ARGV: member, user id. Return the entry json when the person left.
_LEAVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member, uid = ARGV[1], ARGV[2]
redis.call('ZREM', KEYS[1], member)
redis.call('ZREM', KEYS[2], member)
local others = redis.call('ZRANGEBYLEX', KEYS[2], '[' .. uid .. '|', '[' .. uid .. '|\\255')
for _, m in ipairs(others) do
  local s = redis.call('ZSCORE', KEYS[1], m)
  if s and tonumber(s) > now then return nil end
end
local entry = redis.call('HGET', KEYS[3], uid)
redis.call('HDEL', KEYS[3], uid)
return entry
"""

# KEYS: exp, idx, info, cohorts set. ARGV: cohort id. Return the entries of people who left.
_SWEEP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
local left = {}
local seen = {}
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZREM', KEYS[2], m)
end
for _, m in ipairs(expired) do
  local uid = string.match(m, '^([^|]*)|')
  if uid and not seen[uid] then
    seen[uid] = true
    local alive = false
    local others = redis.call('ZRANGEBYLEX', KEYS[2], '[' .. uid .. '|', '[' .. uid .. '|\\255')
    for _, o in ipairs(others) do
      local s = redis.call('ZSCORE', KEYS[1], o)
      if s and tonumber(s) > now then alive = true break end
    end
    if not alive then
      local entry = redis.call('HGET', KEYS[3], uid)
      redis.call('HDEL', KEYS[3], uid)
      if entry then table.insert(left, entry) end
    end
  end
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[4], ARGV[1])
  redis.call('DEL', KEYS[3])
end
return left
"""

# KEYS: exp, info. Return the entries of the people with a live member.
_SNAPSHOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local out = {}
local seen = {}
for _, m in ipairs(live) do
  local uid = string.match(m, '^([^|]*)|')
  if uid and not seen[uid] then
    seen[uid] = true
    local entry = redis.call('HGET', KEYS[2], uid)
    if entry then table.insert(out, entry) end
  end
end
return out
"""


class RedisPresence:
    def __init__(self, url: str, *, prefix: str = "dash:presence", process: str = PROCESS_ID):
        self.url = url
        self.prefix = prefix
        self.process = process
        self._clients: dict[Any, Any] = {}  # one asyncio client per event loop
        self._sync: Any = None

    # Keys ------------------------------------------------------------------------------

    def _keys(self, cohort_id: int) -> tuple[str, str, str]:
        base = f"{self.prefix}:{cohort_id}"
        return f"{base}:exp", f"{base}:idx", f"{base}:info"

    @property
    def _cohorts_key(self) -> str:
        return f"{self.prefix}:cohorts"

    def _member(self, user_id: int) -> str:
        return f"{user_id}|{self.process}"

    @staticmethod
    def _ttl_ms() -> int:
        return int(float(settings.PRESENCE_TTL) * 1000)

    # Clients ---------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            for old in [old for old in self._clients if old.is_closed()]:
                del self._clients[old]
            # A blocking pool: a burst of joins and leaves (hundreds of people at once)
            # waits for a connection instead of failing with MaxConnectionsError.
            client = self._clients[loop] = redis_clients.async_client(
                self.url, redis_clients.PRESENCE, max_connections=50
            )
        return client

    async def _eval(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return await self.client.eval(script, len(keys), *keys, *args)

    # Store -----------------------------------------------------------------------------

    async def join(self, cohort_id: int, entry: PresenceEntry) -> PresenceEntry | None:
        exp, idx, info = self._keys(cohort_id)
        uid = entry["user"]["id"]
        raw = await self._eval(
            _JOIN,
            [exp, idx, info, self._cohorts_key],
            [cohort_id, self._member(uid), uid, self._ttl_ms(), json.dumps(entry)],
        )
        return json.loads(raw) if raw else None

    async def leave(self, cohort_id: int, user_id: int) -> PresenceEntry | None:
        exp, idx, info = self._keys(cohort_id)
        raw = await self._eval(_LEAVE, [exp, idx, info], [self._member(user_id), user_id])
        return json.loads(raw) if raw else None

    async def snapshot(self, cohort_id: int) -> list[PresenceEntry]:
        exp, _, info = self._keys(cohort_id)
        raws = await self._eval(_SNAPSHOT, [exp, info], [])
        return _ordered([json.loads(r) for r in raws])

    @property
    def sync_client(self) -> Any:
        if self._sync is None:
            self._sync = redis_clients.client(self.url, redis_clients.PRESENCE)
        return self._sync

    def snapshot_sync(self, cohort_id: int) -> list[PresenceEntry]:
        exp, _, info = self._keys(cohort_id)
        raws = self.sync_client.eval(_SNAPSHOT, 2, exp, info)
        return _ordered([json.loads(r) for r in raws])

    def sweep_sync(self) -> list[tuple[int, PresenceEntry]]:
        client = self.sync_client
        left: list[tuple[int, PresenceEntry]] = []
        for raw_id in client.smembers(self._cohorts_key):
            cohort_id = int(raw_id)
            exp, idx, info = self._keys(cohort_id)
            raws = client.eval(_SWEEP, 4, exp, idx, info, self._cohorts_key, cohort_id)
            left.extend((cohort_id, json.loads(r)) for r in raws)
        return left

    async def heartbeat(self, entries: list[tuple[int, PresenceEntry]]) -> list[tuple[int, Any]]:
        """Re-run the (idempotent) join of every local viewer in one round trip."""
        if not entries:
            return []
        pipe = self.client.pipeline(transaction=False)
        ttl = self._ttl_ms()
        for cohort_id, entry in entries:
            exp, idx, info = self._keys(cohort_id)
            uid = entry["user"]["id"]
            pipe.eval(
                _JOIN,
                4,
                exp,
                idx,
                info,
                self._cohorts_key,
                cohort_id,
                self._member(uid),
                uid,
                ttl,
                json.dumps(entry),
            )
        results = await pipe.execute()
        return [
            (cohort_id, json.loads(raw))
            for (cohort_id, _), raw in zip(entries, results, strict=True)
            if raw
        ]

    async def sweep(self) -> list[tuple[int, PresenceEntry]]:
        cohorts = await self.client.smembers(self._cohorts_key)
        left: list[tuple[int, PresenceEntry]] = []
        for raw_id in cohorts:
            cohort_id = int(raw_id)
            exp, idx, info = self._keys(cohort_id)
            raws = await self._eval(_SWEEP, [exp, idx, info, self._cohorts_key], [cohort_id])
            left.extend((cohort_id, json.loads(r)) for r in raws)
        return left

    async def close(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            try:
                await client.aclose()
            except Exception:
                logger.debug("closing the presence client failed", exc_info=True)


# --------------------------------------------------------------------------------------
# The store of this process
# --------------------------------------------------------------------------------------

_memory = MemoryPresence()
_redis_stores: dict[tuple[str, str], RedisPresence] = {}
_store_lock = threading.Lock()


def presence_store() -> MemoryPresence | RedisPresence:
    """Return the store the settings choose: Redis with ``REDIS_URL``, else memory."""
    url = getattr(settings, "PRESENCE_REDIS_URL", "") or ""
    if not url:
        return _memory
    key = (url, settings.PRESENCE_PREFIX)
    with _store_lock:
        store = _redis_stores.get(key)
        if store is None:
            store = _redis_stores[key] = RedisPresence(url, prefix=key[1])
        return store


def presence_sweep() -> int:
    """Drop the viewers of processes that died without goodbye and announce who left.

    Every server process already sweeps every ``PRESENCE_SWEEP`` seconds; this is the same
    sweep for the periodic jobs (it matters when no server process is left to do it).
    Return the number of people who left.
    """
    store = presence_store()
    if not isinstance(store, RedisPresence):
        return 0  # in memory, presence dies with its one process
    from realtime.broadcasting import publish_presence

    left = store.sweep_sync()
    for cohort_id, entry in left:
        publish_presence(cohort_id, joins=[], leaves=[entry])
    return len(left)


def presence_snapshot(cohort_id: int) -> list[PresenceEntry]:
    """Return one entry per person viewing the cohort now, oldest first.

    Never raises: with Redis down the snapshot shows nobody rather than failing the page.
    """
    try:
        return presence_store().snapshot_sync(cohort_id)
    except Exception:
        logger.warning("presence snapshot of cohort %s failed", cohort_id, exc_info=True)
        return []
