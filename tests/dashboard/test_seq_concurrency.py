"""seq allocation stays unique, gap-free and in commit order under concurrent writers.

Runs on whichever database the suite uses: SQLite (a file, BEGIN IMMEDIATE) by default,
PostgreSQL when DATABASE_URL is set (CI runs both).
"""

import random
import threading

import pytest
from django.db import connection, connections

from dashboard.models import Event, Progress
from dashboard.services.cohorts import mentor_add
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add, kudos_add
from tests.factories import make_cohort, make_user

THREADS = 8
WRITES_PER_THREAD = 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_unique_gap_free_ordered_seqs():
    world = make_cohort(learners=THREADS)
    start_head = Event.objects.filter(cohort=world.cohort).count()
    accepted: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def writer(index: int) -> None:
        rng = random.Random(index)
        learner = world.learners[index]
        reactor = make_user(f"reactor{index}")
        mentor_add(cohort=world.cohort, user=reactor)
        try:
            barrier.wait(timeout=10)
            for i in range(WRITES_PER_THREAD):
                roll = rng.random()
                if roll < 0.6:
                    cell = Progress.objects.get(learner=learner, milestone__slug="python")
                    status = "in_progress" if cell.status == "not_started" else "not_started"
                    change = progress_update(
                        actor=world.mentor,
                        cohort_id=world.cohort.pk,
                        learner_id=learner.pk,
                        milestone_slug="python",
                        version=cell.version,
                        status=status,
                    )
                    seqs = [change.seq]
                elif roll < 0.8:
                    result = kudos_add(actor=reactor, cohort_id=world.cohort.pk, seq=1 + i % 3)
                    seqs = [None] if not result.created else []
                    if result.created:
                        seqs = [
                            Event.objects.filter(
                                cohort=world.cohort, kind="kudos.added", actor=reactor
                            )
                            .order_by("-seq")[0]
                            .seq
                        ]
                else:
                    comment_add(actor=reactor, cohort_id=world.cohort.pk, seq=1, text=f"c{i}")
                    seqs = [
                        Event.objects.filter(
                            cohort=world.cohort, kind="comment.added", actor=reactor
                        )
                        .order_by("-seq")[0]
                        .seq
                    ]
                with lock:
                    accepted.extend(s for s in seqs if s is not None)
        except BaseException as exc:  # surfaced below with the thread's context
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert errors == []

    events = list(Event.objects.filter(cohort=world.cohort).order_by("seq"))
    seqs = [e.seq for e in events]
    world.cohort.refresh_from_db()
    assert seqs == list(range(1, world.cohort.head_seq + 1)), "seq has a gap or a duplicate"
    assert sorted(accepted) == list(range(start_head + 1, world.cohort.head_seq + 1))
    assert len(accepted) == len(set(accepted))
    stamps = [e.created_at for e in events]
    assert stamps == sorted(stamps), "events did not commit in seq order"
    assert connection.vendor in {"sqlite", "postgresql"}
