"""GET /api/cohorts/{id}/export.csv: the cohort's matrix as a spreadsheet-safe CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request

from dashboard.apis.base import ApiView, errors
from dashboard.errors import Forbidden
from dashboard.selectors.access import cohort_role_or_404
from dashboard.selectors.export import cohort_table

BOM = "\ufeff"  # so spreadsheets read the file as UTF-8
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV
# injection"); a leading quote makes it text. Tab and CR start formulas in some too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """Return ``value`` as CSV cell text that no spreadsheet evaluates."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Line:
    """A file-like object whose ``write`` returns what was written: one CSV line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    """Yield the BOM, then each row as one CSV line (RFC 4180 quoting, CRLF)."""
    writer = csv.writer(_Line())
    yield BOM
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])  # type: ignore[func-returns-value]


class CohortExportApi(ApiView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A download link may send ``Accept: text/csv``: the CSV is not a DRF rendering, and
        # its errors still leave as JSON rather than a 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="cohort_export",
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="UTF-8 with a BOM; a header row, then one row per learner.",
            ),
            **errors(403, 404),
        },
    )
    def get(self, request: Request, cohort_id: int) -> StreamingHttpResponse:
        role = cohort_role_or_404(user=request.user, cohort_id=cohort_id)
        if role == "learner":
            # The cohort is visible to them, the export is not (api.md: 403 for a
            # forbidden action on a visible object).
            raise Forbidden("Only mentors and staff export a cohort.")
        # The rows are read now, so errors come back as JSON before the stream starts.
        rows = list(cohort_table(cohort_id=cohort_id))
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="cohort-{cohort_id}.csv"'
        return response
