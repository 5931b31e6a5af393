"""GET /api/cohorts/{id}/export.csv: a CSV that opens cleanly and safely in a spreadsheet."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.apis.export import csv_safe
from dashboard.models import Milestone, Progress
from dashboard.services.progress import progress_update
from tests.factories import make_cohort, make_program


def _url(world) -> str:
    return f"/api/cohorts/{world.cohort.pk}/export.csv"


def _read(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _rename(membership, first: str, last: str = "") -> None:
    user = get_user_model().objects.get(pk=membership.user_id)
    user.first_name, user.last_name = first, last
    user.save()


def test_header_then_one_row_per_learner_in_program_order(world, client_for):
    cell = Progress.objects.get(learner=world.learner, milestone__slug="python")
    progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=world.learner.pk,
        milestone_slug="python",
        version=cell.version,
        status="completed",
        score=91,
    )
    rows = _read(client_for(world.mentor).get(_url(world)))
    assert rows[0] == [
        "learner",
        "completion",
        "at_risk",
        "risk_reasons",
        "python status",
        "python score",
        "django status",
        "django score",
        "docker status",
        "docker score",
    ]
    assert len(rows) == 1 + 3
    first = rows[1]
    assert first[1] == str(round(1 / 3, 4))
    assert first[2] == "true"
    assert "Django was due" in first[3]
    assert first[4:6] == ["completed", "91"]
    assert first[6:8] == ["not_started", ""]


def test_awkward_names_survive_a_round_trip(world, client_for):
    _rename(world.learners[0], 'Smith, "Jo"', "O'Neil")
    _rename(world.learners[1], "Чайковский", "Пётр 李")
    _rename(world.learners[2], '=HYPERLINK("http://x")', "")
    rows = _read(client_for(world.mentor).get(_url(world)))
    names = [row[0] for row in rows[1:]]
    assert names == ['Smith, "Jo" O\'Neil', "Чайковский Пётр 李", '\'=HYPERLINK("http://x")']
    assert all(len(row) == len(rows[0]) for row in rows)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_are_neutralised(text):
    assert csv_safe(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "text"), [("plain", "plain"), (None, ""), (0.5, "0.5"), (7, "7")]
)
def test_other_cells_are_left_alone(value, text):
    assert csv_safe(value) == text


def test_staff_exports_any_cohort(world, staff, client_for):
    assert len(_read(client_for(staff).get(_url(world)))) == 4


def test_learner_member_is_forbidden(world, client_for):
    response = client_for(world.learner.user).get(_url(world))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_outsiders_and_other_mentors_get_404(world, other_world, outsider, client_for):
    assert client_for(outsider).get(_url(world)).status_code == 404
    assert client_for(other_world.mentor).get(_url(world)).status_code == 404
    assert client_for().get(_url(world)).status_code == 401


def test_an_accept_of_text_csv_still_gets_the_file_and_json_errors(world, outsider, client_for):
    response = client_for(world.mentor).get(_url(world), HTTP_ACCEPT="text/csv")
    assert len(_read(response)) == 4
    refused = client_for(outsider).get(_url(world), HTTP_ACCEPT="text/csv")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"


def test_400_learners_by_13_milestones_in_fixed_queries_and_well_under_a_second(db, client_for):
    program = make_program([(f"m{i:02d}", f"Milestone {i}", i) for i in range(1, 14)])
    world = make_cohort(learners=400, program=program)
    assert Milestone.objects.filter(program=program).count() == 13
    client = client_for(world.mentor)
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        rows = _read(client.get(_url(world)))
        elapsed = time.perf_counter() - started
    assert len(rows) == 401 and len(rows[0]) == 4 + 2 * 13
    # The JWT's user, the role, and the snapshot bundle's five (cold cache).
    assert len(ctx.captured_queries) == 7
    assert elapsed < 1.0
