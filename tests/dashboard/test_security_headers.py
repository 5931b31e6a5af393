"""The Content-Security-Policy header (django-csp), per page and per view."""

from __future__ import annotations

from django.test import Client


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_the_page_allows_its_own_scripts_and_websocket_only(world):
    client = Client()
    client.force_login(world.mentor)
    response = client.get("/")
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert {"'self'", "ws://testserver", "wss://testserver"} <= set(policy["connect-src"])
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]


def test_the_sign_in_page_needs_no_inline_style(db):
    response = Client().get("/login/")
    policy = directives(response)
    assert "'unsafe-inline'" not in policy["style-src"]
    assert b"<style" not in response.content
    assert b"<script>" not in response.content


def test_swagger_ui_alone_may_use_inline_styles(db):
    policy = directives(Client().get("/api/docs/"))
    assert "'unsafe-inline'" in policy["style-src"]
    assert policy["script-src"] == ["'self'"]
