"""The cohort as a table: one row per learner, for the CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from dashboard.models import Progress
from dashboard.selectors.cohorts import snapshot_bundle, snapshot_learners


def cohort_table(*, cohort_id: int) -> Iterator[list[Any]]:
    """Yield the header row, then one row per learner (in the snapshot's order).

    Columns: ``learner``, ``completion`` (0-1), ``at_risk``, ``risk_reasons`` (joined by
    "; "), then ``{slug} status`` and ``{slug} score`` per milestone in program order.
    Everything comes from the cached snapshot bundle, so the rows cost no query of their own.
    """
    bundle = snapshot_bundle(cohort_id=cohort_id)
    slugs = [m["slug"] for m in bundle["milestones"]]
    yield [
        "learner",
        "completion",
        "at_risk",
        "risk_reasons",
        *(f"{slug} {column}" for slug in slugs for column in ("status", "score")),
    ]
    for row in snapshot_learners(bundle, now=timezone.now()):
        cells = [row["progress"].get(slug) for slug in slugs]
        done = sum(1 for cell in cells if cell and cell["status"] == Progress.Status.COMPLETED)
        yield [
            row["name"],
            round(done / len(cells), 4) if cells else 0.0,
            "true" if row["at_risk"] else "false",
            "; ".join(row["risk_reasons"]),
            *(
                value
                for cell in cells
                for value in ((cell["status"], cell["score"]) if cell else ("", None))
            ),
        ]
