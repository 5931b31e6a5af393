"""SQLite writers of one process queue on a lock (dashboard/db/sqlite3), not on SQLite."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from dashboard.db.sqlite3.base import _write_lock
from dashboard.models import Program

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend only"),
]


def lock():
    return _write_lock(str(connection.settings_dict["NAME"]))


def test_a_transaction_holds_the_lock_until_commit():
    with transaction.atomic():
        Program.objects.create(name="A", slug="a")
        assert lock().locked()
    assert not lock().locked()
    assert Program.objects.filter(slug="a").exists()


def test_a_rolled_back_transaction_releases_the_lock():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Program.objects.create(name="B", slug="b")
        raise ZeroDivisionError
    assert not lock().locked()
    assert not Program.objects.filter(slug="b").exists()


def test_closing_the_connection_in_a_transaction_releases_the_lock():
    atomic = transaction.atomic()
    atomic.__enter__()
    assert lock().locked()
    connection.close()
    assert not lock().locked()
    atomic.__exit__(None, None, None)  # Django forgets the closed transaction
    with transaction.atomic():
        Program.objects.create(name="F", slug="f")  # and the next one proceeds


def test_a_queued_writer_starts_the_moment_the_previous_one_commits():
    # SQLite's busy handler would poll with growing sleeps (a 250 ms hold is noticed
    # 30-80 ms late); the lock hands over at once.
    held = threading.Event()
    committed_at: list[float] = []
    started_at: list[float] = []

    def first() -> None:
        try:
            with transaction.atomic():
                Program.objects.create(name="C", slug="c")
                held.set()
                time.sleep(0.25)
            committed_at.append(time.perf_counter())
        finally:
            connection.close()

    def second() -> None:
        try:
            held.wait(5)
            with transaction.atomic():
                started_at.append(time.perf_counter())
                Program.objects.create(name="D", slug="d")
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert Program.objects.filter(slug__in=["c", "d"]).count() == 2
    assert started_at[0] >= committed_at[0] - 0.005  # serialised: not before the commit
    assert started_at[0] - committed_at[0] < 0.025


def test_a_writer_that_waits_past_the_timeout_gets_database_locked(monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)
    lock().acquire()
    try:
        started = time.perf_counter()
        with pytest.raises(OperationalError, match="database is locked"), transaction.atomic():
            Program.objects.create(name="E", slug="e")
        assert 0.15 < time.perf_counter() - started < 2
    finally:
        lock().release()
    assert not Program.objects.filter(slug="e").exists()
