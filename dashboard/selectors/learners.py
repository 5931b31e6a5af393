"""Reads of a cohort's learners: the filtered matrix rows and one learner's header.

Both come from the snapshot's cached bundle (``snapshot_bundle``), so a filter costs no
query beyond the caller's role once the cohort's snapshot is warm.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from dashboard.errors import InvalidInput, NotFound
from dashboard.models import Progress
from dashboard.selectors.cohorts import snapshot_bundle, snapshot_learners
from dashboard.selectors.privacy import Viewer, learner_row_for
from dashboard.selectors.stats import overdue_milestones


@dataclass(frozen=True)
class LearnerFilter:
    at_risk: bool | None = None
    overdue: bool | None = None
    milestone: str | None = None
    status: str | None = None
    search: str | None = None


def name_key(text: str) -> str:
    """Return ``text`` folded for matching: no case, no accents (``Zoë`` matches ``zoe``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def cohort_learners(
    *,
    cohort_id: int,
    viewer: Viewer,
    filters: LearnerFilter,
    bundle: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Return the snapshot's learner entries that pass ``filters``, as ``viewer`` sees them.

    Raise ``InvalidInput`` for a milestone the program does not have, a status that does
    not exist, a milestone without a status (or the reverse), and for a learner filtering
    by ``at_risk`` (it would reveal peers' risk). ``bundle``: the cohort's snapshot bundle
    when the caller already read it (GraphQL: one per operation, consistent with its seq).
    """
    if bundle is None:
        bundle = snapshot_bundle(cohort_id=cohort_id)
    _check(filters, viewer=viewer, slugs={m["slug"] for m in bundle["milestones"]})
    now = timezone.now()
    today = timezone.localdate(now)
    needle = name_key(filters.search) if filters.search else None
    result = []
    for row in snapshot_learners(bundle, now=now):
        if filters.at_risk is not None and row["at_risk"] != filters.at_risk:
            continue
        if filters.overdue is not None:
            late = overdue_milestones(
                cells=bundle["risk_input"].get(row["id"], {}),
                milestones=bundle["dues"],
                today=today,
            )
            if bool(late) != filters.overdue:
                continue
        if filters.milestone is not None:
            cell = row["progress"].get(filters.milestone)
            if cell is None or cell["status"] != filters.status:
                continue
        if needle is not None and needle not in name_key(row["name"]):
            continue
        result.append(learner_row_for(row, viewer))
    return result


def _check(filters: LearnerFilter, *, viewer: Viewer, slugs: set[str]) -> None:
    fields: dict[str, list[str]] = {}
    if filters.at_risk is not None and not viewer.sees_all:
        fields["at_risk"] = ["Only mentors and staff filter by risk."]
    if (filters.milestone is None) != (filters.status is None):
        missing = "status" if filters.status is None else "milestone"
        fields[missing] = ["Give milestone and status together."]
    if filters.milestone is not None and filters.milestone not in slugs:
        fields["milestone"] = ["No such milestone in this cohort's program."]
    if filters.status is not None and filters.status not in Progress.Status.values:
        fields["status"] = ["Unknown status."]
    if fields:
        raise InvalidInput("The filters are not valid.", fields=fields)


def learner_header(*, cohort_id: int, learner_id: int, viewer: Viewer) -> dict[str, Any]:
    """Return ``{"id", "name", "completion", "at_risk", "risk_reasons"}`` of one learner.

    Raise ``NotFound`` unless the viewer is staff, a mentor, or that learner: a peer's
    story is not theirs to read, and its existence is not told apart from a missing one.
    """
    if not viewer.sees_all and viewer.learner_id != learner_id:
        raise NotFound("No such learner in this cohort.")
    bundle = snapshot_bundle(cohort_id=cohort_id)
    rows = [row for row in bundle["learners"] if row["id"] == learner_id]
    if not rows:
        raise NotFound("No such learner in this cohort.")
    (row,) = snapshot_learners({**bundle, "learners": rows}, now=timezone.now())
    cells = row["progress"].values()
    done = sum(1 for cell in cells if cell["status"] == Progress.Status.COMPLETED)
    return {
        "id": row["id"],
        "name": row["name"],
        "completion": round(done / len(cells), 4) if cells else 0.0,
        "at_risk": row["at_risk"],
        "risk_reasons": row["risk_reasons"],
    }
