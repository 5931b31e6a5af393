"""The schema and Swagger UI: assets from the app, behind authentication in production
(docs/security.md)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.deploy.helpers import production_env, run_python


def test_swagger_ui_loads_only_same_origin_assets(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls, html
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "cdn" not in html.lower()
    assert "<script>" not in html  # no inline script: the page's CSP allows 'self' only
    from django.contrib.staticfiles import finders

    for url in urls:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url


@pytest.fixture
def docs_mode(settings):
    def set_mode(mode: str) -> None:
        settings.API_DOCS = mode

    return set_mode


def test_authenticated_mode_refuses_anonymous_callers(world, docs_mode, client_for):
    docs_mode("authenticated")
    assert APIClient().get("/api/schema/").status_code == 401
    assert APIClient().get("/api/docs/").status_code == 401
    assert client_for(world.mentor).get("/api/schema/").status_code == 200
    session = Client()
    session.force_login(world.mentor)
    assert session.get("/api/docs/").status_code == 200


def test_off_mode_answers_404(world, docs_mode, client_for):
    docs_mode("off")
    assert client_for(world.mentor).get("/api/schema/").status_code == 404
    assert client_for(world.mentor).get("/api/docs/").status_code == 404


def test_production_puts_schema_and_docs_behind_authentication(tmp_path):
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.API_DOCS, s.SPECTACULAR_SETTINGS['SERVE_PERMISSIONS'])"
    )
    result = run_python(["-c", script], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "authenticated ['dashboard.apis.schema.DocsAccess']" in result.stdout
    public = run_python(["-c", script], production_env(tmp_path, API_DOCS="public"))
    assert "public [" in public.stdout
    bad = run_python(["-c", script], production_env(tmp_path, API_DOCS="maybe"))
    assert bad.returncode != 0 and "API_DOCS must be one of" in bad.stderr
