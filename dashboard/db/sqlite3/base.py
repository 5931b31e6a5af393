"""Django's SQLite backend, with writers of one process queued on a lock, not on SQLite.

SQLite lets one writer in at a time. A transaction that finds the write lock taken (here
at ``BEGIN IMMEDIATE``) waits in SQLite's busy handler, which sleeps and retries with
growing pauses (up to 100 ms each) instead of waking when the lock is free. With a few
overlapping REST writes, and the server's event loop taking the GIL for fan-outs, those
pauses added up to 0.2-2 s per write (docs/performance.md). Threads of one server process
now queue on a ``threading.Lock`` taken just before ``BEGIN`` and released at commit,
rollback or close, so the next writer starts the moment the previous one commits. Other
processes on the same file (a management command, a second server) still meet SQLite's
own locking; the lock only orders this process's writers among themselves.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _write_lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    # The private hooks below are Django's (django-stubs does not declare them).

    _held: threading.Lock | None = None

    def _start_transaction_under_autocommit(self) -> None:
        lock = _write_lock(str(self.settings_dict["NAME"]))
        timeout = float(self.settings_dict["OPTIONS"].get("timeout", 5))
        if not lock.acquire(timeout=timeout):
            raise OperationalError("database is locked (waited for this process's writers)")
        self._held = lock
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        lock, self._held = self._held, None
        if lock is not None:
            lock.release()

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._release()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._release()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._release()
