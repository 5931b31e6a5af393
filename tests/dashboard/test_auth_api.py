"""Authentication: JWT pairs, refresh, /api/me/, and session auth with CSRF."""

import pytest
from rest_framework.test import APIClient

from tests.factories import make_user


def test_token_pair_is_issued_for_valid_credentials(world):
    response = APIClient().post(
        "/api/auth/token/",
        {"username": world.mentor.username, "password": world.mentor.username},
        format="json",
    )
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_refresh_returns_a_new_access_token_that_works(world):
    pair = (
        APIClient()
        .post(
            "/api/auth/token/",
            {"username": world.mentor.username, "password": world.mentor.username},
            format="json",
        )
        .json()
    )
    refreshed = APIClient().post(
        "/api/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert client.get("/api/me/").status_code == 200


def test_wrong_password_is_401_with_the_error_shape(world):
    response = APIClient().post(
        "/api/auth/token/", {"username": world.mentor.username, "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize("body", [{}, {"username": "x"}, {"username": ["a"], "password": 3}])
def test_malformed_token_request_is_400(db, body):
    response = APIClient().post("/api/auth/token/", body, format="json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_forged_or_garbage_token_is_401(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    response = client.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"authentication_failed", "token_not_valid"}


def test_anonymous_request_is_401(db):
    response = APIClient().get("/api/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "WWW-Authenticate" in response


def test_me_lists_memberships_with_the_learner_id(world, client_for):
    learner = world.learner
    body = client_for(learner.user).get("/api/me/").json()
    assert body["username"] == learner.user.username
    assert body["name"] == "Learner 0"
    assert body["is_staff"] is False
    assert body["memberships"] == [
        {"cohort": world.cohort.pk, "role": "learner", "learner": learner.pk}
    ]


def test_me_for_a_mentor_has_no_learner_id(world, client_for):
    body = client_for(world.mentor).get("/api/me/").json()
    assert body["memberships"] == [{"cohort": world.cohort.pk, "role": "mentor", "learner": None}]


def test_session_write_without_csrf_token_is_refused(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.mentor)
    url = f"/api/cohorts/{world.cohort.pk}/progress/{world.learner.pk}/python/"
    response = client.patch(url, {"status": "in_progress", "version": 1}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_session_write_with_csrf_token_is_accepted(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.mentor)
    client.logout()
    token = client.get("/login/").cookies["csrftoken"].value  # the login form sets it
    client.force_login(world.mentor)
    url = f"/api/cohorts/{world.cohort.pk}/progress/{world.learner.pk}/python/"
    response = client.patch(
        url, {"status": "in_progress", "version": 1}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200


def test_dashboard_page_requires_login(db):
    response = APIClient().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_page_signs_in_with_the_session(db):
    make_user("someone")
    client = APIClient()
    response = client.post("/login/", {"username": "someone", "password": "someone"})
    assert response.status_code == 302
    assert client.get("/api/me/").json()["username"] == "someone"
