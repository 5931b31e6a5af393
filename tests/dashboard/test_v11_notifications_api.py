"""GET, PATCH /api/me/notifications/: each user's email preferences."""

from __future__ import annotations

import pytest

URL = "/api/me/notifications/"


def test_both_are_on_by_default(world, client_for):
    response = client_for(world.mentor).get(URL)
    assert response.status_code == 200
    assert response.json() == {"at_risk_email": True, "daily_digest": True}


def test_patch_changes_only_what_it_names(world, client_for):
    client = client_for(world.mentor)
    response = client.patch(URL, {"daily_digest": False}, format="json")
    assert response.json() == {"at_risk_email": True, "daily_digest": False}
    client.patch(URL, {"at_risk_email": False}, format="json")
    assert client.get(URL).json() == {"at_risk_email": False, "daily_digest": False}
    client.patch(URL, {"daily_digest": True}, format="json")
    assert client.get(URL).json() == {"at_risk_email": False, "daily_digest": True}


def test_preferences_are_per_user(world, client_for):
    client_for(world.mentor).patch(URL, {"daily_digest": False}, format="json")
    assert client_for(world.learner.user).get(URL).json()["daily_digest"] is True


def test_empty_patch_changes_nothing(world, client_for):
    response = client_for(world.mentor).patch(URL, {}, format="json")
    assert response.json() == {"at_risk_email": True, "daily_digest": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"daily_digest": "false"}, "daily_digest"),
        ({"daily_digest": 0}, "daily_digest"),
        ({"at_risk_email": None}, "at_risk_email"),
        ({"at_risk_email": "yes"}, "at_risk_email"),
        ({"digest": False}, "digest"),
    ],
)
def test_anything_but_a_json_boolean_is_400(world, client_for, body, field):
    response = client_for(world.mentor).patch(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_non_object_body_is_400(world, client_for):
    response = client_for(world.mentor).patch(URL, [True], format="json")
    assert response.status_code == 400


def test_anonymous_gets_401(db, client_for):
    assert client_for().get(URL).status_code == 401
    assert client_for().patch(URL, {"daily_digest": False}, format="json").status_code == 401
