"""Login lockout (django-axes): by user name and address, on the sign-in page, the admin
and the token endpoint; staff unlock (docs/security.md)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import make_user

LIMIT = 10  # LOGIN_FAILURE_LIMIT's default


@pytest.fixture
def victim(db):
    return make_user("victim")


def fail_page_logins(client: Client, url: str, username: str, times: int) -> list[int]:
    return [
        client.post(url, {"username": username, "password": "wrong"}).status_code
        for _ in range(times)
    ]


def test_the_sign_in_page_locks_a_user_name_and_address_after_repeated_failures(victim):
    client = Client()
    statuses = fail_page_logins(client, "/login/", "victim", LIMIT + 5)
    assert statuses[: LIMIT - 1] == [200] * (LIMIT - 1)  # the form again, with its error
    assert statuses[-1] == 429
    right = client.post("/login/", {"username": "victim", "password": "victim"})
    assert right.status_code == 429
    assert b"Sign-in locked" in right.content
    assert b"staff member" in right.content
    assert "_auth_user_id" not in client.session


def test_the_admin_login_locks_out_too(db):
    make_user("boss", staff=True)
    client = Client()
    fail_page_logins(client, "/admin/login/", "boss", LIMIT)
    right = client.post("/admin/login/", {"username": "boss", "password": "boss"})
    assert right.status_code == 429
    assert client.get("/admin/").status_code == 302  # still not logged in


def test_the_token_endpoint_locks_out_with_the_error_shape(victim):
    client = APIClient()
    for _ in range(LIMIT):
        client.post("/api/auth/token/", {"username": "victim", "password": "x"}, format="json")
    right = client.post(
        "/api/auth/token/", {"username": "victim", "password": "victim"}, format="json"
    )
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "locked_out"


def test_the_lockout_is_per_address(victim):
    fail_page_logins(Client(REMOTE_ADDR="203.0.113.1"), "/login/", "victim", LIMIT)
    elsewhere = Client(REMOTE_ADDR="203.0.113.2")
    assert (
        elsewhere.post("/login/", {"username": "victim", "password": "victim"}).status_code == 302
    )


def test_staff_unlock_a_user(victim):
    client = Client()
    fail_page_logins(client, "/login/", "victim", LIMIT)
    assert client.post("/login/", {"username": "victim", "password": "victim"}).status_code == 429
    call_command("axes_reset_username", "victim")
    assert client.post("/login/", {"username": "victim", "password": "victim"}).status_code == 302


def test_a_success_before_the_limit_forgets_the_failures(victim):
    client = Client()
    fail_page_logins(client, "/login/", "victim", LIMIT - 1)
    assert client.post("/login/", {"username": "victim", "password": "victim"}).status_code == 302
    client.logout()
    fail_page_logins(client, "/login/", "victim", LIMIT - 1)
    assert client.post("/login/", {"username": "victim", "password": "victim"}).status_code == 302
