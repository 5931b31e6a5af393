"""Token rotation, logout for programs, revocation on password change (docs/security.md)."""

from __future__ import annotations

from rest_framework.test import APIClient


def obtain(user) -> dict:
    response = APIClient().post(
        "/api/auth/token/", {"username": user.username, "password": user.username}, format="json"
    )
    assert response.status_code == 200
    return response.json()


def me(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/me/").status_code


def refresh(token: str):
    return APIClient().post("/api/auth/token/refresh/", {"refresh": token}, format="json")


def test_refresh_rotates_and_the_old_refresh_token_works_once(world):
    pair = obtain(world.mentor)
    first = refresh(pair["refresh"])
    assert first.status_code == 200
    assert set(first.json()) == {"access", "refresh"}
    assert me(first.json()["access"]) == 200
    again = refresh(pair["refresh"])
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "token_not_valid"
    assert refresh(first.json()["refresh"]).status_code == 200


def test_a_program_logs_out_by_blacklisting_its_refresh_token(world):
    pair = obtain(world.mentor)
    out = APIClient().post(
        "/api/auth/token/blacklist/", {"refresh": pair["refresh"]}, format="json"
    )
    assert out.status_code == 200
    assert refresh(pair["refresh"]).status_code == 401


def test_a_password_change_revokes_access_and_refresh_tokens(world):
    pair = obtain(world.mentor)
    assert me(pair["access"]) == 200
    world.mentor.set_password("a-new-password-42")
    world.mentor.save()
    assert me(pair["access"]) == 401
    assert refresh(pair["refresh"]).status_code == 401
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    outstanding = OutstandingToken.objects.filter(user=world.mentor)
    assert outstanding.exists()
    assert all(hasattr(token, "blacklistedtoken") for token in outstanding)
    fresh = (
        APIClient()
        .post(
            "/api/auth/token/",
            {"username": world.mentor.username, "password": "a-new-password-42"},
            format="json",
        )
        .json()
    )
    assert me(fresh["access"]) == 200


def test_odd_claims_in_a_refresh_token_are_401(world):
    import jwt
    from django.conf import settings
    from rest_framework_simplejwt.tokens import RefreshToken

    good = dict(RefreshToken.for_user(world.mentor).payload)
    key = settings.SIMPLE_JWT["SIGNING_KEY"]
    for claims in ({**good, "user_id": [1]}, {**good, "exp": 10**30}, {**good, "user_id": {}}):
        raw = jwt.encode(claims, key, algorithm="HS256")
        assert refresh(raw).status_code == 401, claims
        out = APIClient().post("/api/auth/token/blacklist/", {"refresh": raw}, format="json")
        assert out.status_code in {400, 401}, claims
