"""The admin writes through the services; health and readiness answer honestly."""

import pytest

from dashboard.models import Event, Progress


@pytest.fixture
def admin_client(client, staff):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return client


@pytest.mark.parametrize(
    "model", ["program", "milestone", "cohort", "membership", "progress", "event"]
)
def test_admin_lists_the_domain(admin_client, world, model):
    assert admin_client.get(f"/admin/dashboard/{model}/").status_code == 200


def test_progress_edited_in_the_admin_appends_its_event(admin_client, world):
    cell = Progress.objects.get(learner=world.learner, milestone__slug="python")
    response = admin_client.post(
        f"/admin/dashboard/progress/{cell.pk}/change/", {"status": "completed", "score": 77}
    )
    assert response.status_code == 302
    cell.refresh_from_db()
    assert (cell.status, cell.score, cell.version) == ("completed", 77, 2)
    event = Event.objects.filter(cohort=world.cohort).latest("seq")
    assert event.kind == "progress.updated" and event.data["score"] == 77


def test_cohort_renamed_in_the_admin_appends_cohort_updated(admin_client, world):
    cohort = world.cohort
    response = admin_client.post(
        f"/admin/dashboard/cohort/{cohort.pk}/change/",
        {
            "program": cohort.program_id,
            "name": "Renamed",
            "start_date": cohort.start_date,
            "end_date": cohort.end_date,
        },
    )
    assert response.status_code == 302
    event = Event.objects.filter(cohort=cohort).latest("seq")
    assert event.kind == "cohort.updated" and event.data["cohort"]["name"] == "Renamed"


def test_healthz_is_alive(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_database(db, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"} | (
        {"redis": "ok"} if response.json()["checks"].get("redis") else {}
    )


def test_readyz_is_503_when_redis_does_not_answer(db, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "down"


@pytest.mark.parametrize(
    "body", [{"status": "completed", "score": ""}, {"status": "in_progress", "score": 50}]
)
def test_a_refused_admin_edit_is_a_form_error_not_a_server_error(admin_client, world, body):
    cell = Progress.objects.get(learner=world.learner, milestone__slug="python")
    response = admin_client.post(f"/admin/dashboard/progress/{cell.pk}/change/", body)
    assert response.status_code == 200  # the form again, with the error
    assert b"errornote" in response.content or b"errorlist" in response.content
    cell.refresh_from_db()
    assert (cell.status, cell.version) == ("not_started", 1)
    assert not Event.objects.filter(cohort=world.cohort, kind="progress.updated").exists()
