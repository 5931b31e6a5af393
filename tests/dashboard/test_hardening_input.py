"""Hardening of the REST surface: strict input, odd token claims, cache headers, the
login throttle's client address (docs/security.md)."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken


def progress_url(world) -> str:
    return f"/api/cohorts/{world.cohort.pk}/progress/{world.learner.pk}/python/"


# --------------------------------------------------------------------------------------
# Strict input (item 12)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"status": "completed", "score": "50", "version": 1},
        {"status": "in_progress", "version": "1"},
        {"status": "in_progress", "version": 1.0},
        {"status": "in_progress", "version": True},
        {"status": "completed", "score": True, "version": 1},
        {"status": "completed", "score": 50.0, "version": 1},
    ],
)
def test_numbers_given_as_strings_floats_or_booleans_are_refused(world, client_for, body):
    response = client_for(world.mentor).patch(progress_url(world), body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) & {"score", "version"}


def test_a_patch_with_only_a_version_is_refused_by_the_serializer(world, client_for):
    response = client_for(world.mentor).patch(progress_url(world), {"version": 1}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_the_schema_says_a_patch_needs_a_status_or_a_score(client_for, world):
    schema = client_for(world.mentor).get("/api/schema/?format=json").json()
    body = schema["components"]["schemas"]["ProgressUpdateInputRequest"]
    assert body["anyOf"] == [{"required": ["status"]}, {"required": ["score"]}]


@pytest.mark.parametrize(
    "text",
    [
        "\u200b\u200b",  # zero-width spaces only
        " \u200d\ufeff\u2060 ",  # zero-width joiner, BOM, word joiner, spaces
        "\u3000\u00a0",  # ideographic and no-break spaces
        "nice \u202eevil",  # right-to-left override
        "ok \u2066isolate\u2069",  # isolates
        "\u202a\u202b\u202c\u202d",
        "nul \x00 byte",  # PostgreSQL cannot store it
        "bell\x07",  # other C0 controls: not text anyone meant
    ],
)
def test_invisible_or_bidi_override_comments_are_refused(world, client_for, text):
    url = f"/api/cohorts/{world.cohort.pk}/events/1/comments/"
    response = client_for(world.mentor).post(url, {"text": text}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"].keys() == {"text"}


def test_a_comment_with_ordinary_unicode_is_kept(world, client_for):
    url = f"/api/cohorts/{world.cohort.pk}/events/1/comments/"
    response = client_for(world.mentor).post(url, {"text": "Très bien 👍 مرحبا"}, format="json")
    assert response.status_code == 201
    assert response.json()["text"] == "Très bien 👍 مرحبا"


# --------------------------------------------------------------------------------------
# Odd claims in a validly signed token (item 5)
# --------------------------------------------------------------------------------------


def signed(claims: dict) -> str:
    return jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


def odd_tokens(user) -> dict[str, str]:
    good = dict(AccessToken.for_user(user).payload)
    return {
        "user_id list": signed({**good, "user_id": [user.pk]}),
        "user_id object": signed({**good, "user_id": {}}),
        "user_id float": signed({**good, "user_id": 1.5}),
        "user_id huge": signed({**good, "user_id": str(10**30)}),
        "exp huge": signed({**good, "exp": 10**30}),
        "exp string": signed({**good, "exp": "soon"}),
        "iat huge": signed({**good, "iat": 10**30}),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "user_id list",
        "user_id object",
        "user_id float",
        "user_id huge",
        "exp huge",
        "exp string",
        "iat huge",
    ],
)
def test_odd_claims_in_a_signed_token_are_401_token_not_valid(world, kind):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {odd_tokens(world.mentor)[kind]}")
    response = client.get("/api/me/")
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "token_not_valid"


# --------------------------------------------------------------------------------------
# Cache headers (item 11)
# --------------------------------------------------------------------------------------


def test_authenticated_api_answers_are_private_no_store_and_vary_on_credentials(world, client_for):
    response = client_for(world.mentor).get(f"/api/cohorts/{world.cohort.pk}/snapshot/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    vary = {part.strip().lower() for part in response["Vary"].split(",")}
    assert {"authorization", "cookie"} <= vary


def test_token_answers_are_not_stored(world):
    response = APIClient().post(
        "/api/auth/token/",
        {"username": world.mentor.username, "password": world.mentor.username},
        format="json",
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


# --------------------------------------------------------------------------------------
# The login throttle keys on the address the configured proxies vouch for (item 1)
# --------------------------------------------------------------------------------------


def test_a_new_forwarded_for_per_attempt_does_not_escape_the_login_throttle(world):
    client = APIClient()
    statuses = [
        client.post(
            "/api/auth/token/",
            {"username": f"nobody{i}", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.{i}.1",
        ).status_code
        for i in range(50)
    ]
    assert 429 in statuses
    assert statuses.index(429) == 30  # the login rate is 30/min


def test_behind_one_proxy_the_throttle_keys_on_the_address_it_adds(world, settings):
    from rest_framework.settings import api_settings

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    api_settings.reload()
    try:
        client = APIClient()
        spoofed = [
            client.post(
                "/api/auth/token/",
                {"username": "nobody", "password": "wrong"},
                format="json",
                # A spoofed first entry per attempt, then the address the proxy saw.
                HTTP_X_FORWARDED_FOR=f"10.0.{i}.1, 203.0.113.9",
            ).status_code
            for i in range(31)
        ]
        assert spoofed[-1] == 429
        other = client.post(
            "/api/auth/token/",
            {"username": "nobody", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR="203.0.113.10",
        )
        assert other.status_code == 401
    finally:
        settings.REST_FRAMEWORK = {
            k: v for k, v in settings.REST_FRAMEWORK.items() if k != "NUM_PROXIES"
        }
        api_settings.reload()


def test_expired_token_still_401(world):
    token = AccessToken.for_user(world.mentor)
    token.set_exp(lifetime=-timedelta(seconds=5))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/me/").status_code == 401


@pytest.mark.parametrize("name", ["Cohort \x00 7", "\u202eevil", "\u200b"])
def test_the_services_refuse_text_that_may_not_be_stored_whatever_the_door(world, name):
    """The rule lives in the services (dashboard/text.py), so GraphQL, the simulator and
    the tests' own writes meet it too: a NUL in a cohort's name once reached PostgreSQL."""
    from dashboard.errors import InvalidInput
    from dashboard.models import Event
    from dashboard.services.cohorts import cohort_update
    from dashboard.services.reactions import comment_add

    events = Event.objects.count()
    with pytest.raises(InvalidInput):
        cohort_update(actor=world.mentor, cohort=world.cohort, name=name)
    with pytest.raises(InvalidInput):
        comment_add(actor=world.mentor, cohort_id=world.cohort.pk, seq=1, text=name)
    assert Event.objects.count() == events
    world.cohort.refresh_from_db()
    assert world.cohort.name != name
