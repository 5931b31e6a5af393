"""The production settings: environment only, fail fast, ``check --deploy`` clean."""

from __future__ import annotations

import json

import pytest

from tests.deploy.helpers import production_env, run_python

_DUMP = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "CSRF_TRUSTED_ORIGINS": s.CSRF_TRUSTED_ORIGINS,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SECURE_PROXY_SSL_HEADER": list(s.SECURE_PROXY_SSL_HEADER),
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "STATICFILES": s.STORAGES["staticfiles"]["BACKEND"],
    "FORMATTER": s.LOGGING["handlers"]["console"]["formatter"],
    "PERIODIC_JOBS": s.PERIODIC_JOBS,
    "MIDDLEWARE0": s.MIDDLEWARE[0],
    "WHITENOISE": "whitenoise.middleware.WhiteNoiseMiddleware" in s.MIDDLEWARE,
}))
"""


def test_production_settings_pass_check_deploy_with_no_warning(tmp_path):
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stderr


def test_a_missing_secret_key_fails_fast(tmp_path):
    result = run_python(["manage.py", "check"], production_env(tmp_path, SECRET_KEY=""))
    assert result.returncode != 0
    assert "The SECRET_KEY environment variable is required." in result.stderr


def test_missing_allowed_hosts_fail_fast(tmp_path):
    env = production_env(tmp_path)
    del env["ALLOWED_HOSTS"]
    result = run_python(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required" in result.stderr


def test_a_bad_periodic_jobs_mode_fails_fast(tmp_path):
    result = run_python(["manage.py", "check"], production_env(tmp_path, PERIODIC_JOBS="cron"))
    assert result.returncode != 0
    assert "PERIODIC_JOBS must be inprocess, celery or off" in result.stderr


def test_production_settings_come_from_the_environment(tmp_path):
    env = production_env(
        tmp_path,
        ALLOWED_HOSTS="a.example.com, b.example.com",
        CSRF_TRUSTED_ORIGINS="https://a.example.com",
        DEBUG="true",  # ignored: production never runs with DEBUG
    )
    result = run_python(["-c", _DUMP], env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values == {
        "DEBUG": False,
        "ALLOWED_HOSTS": ["a.example.com", "b.example.com"],
        "CSRF_TRUSTED_ORIGINS": ["https://a.example.com"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_HSTS_SECONDS": 31536000,
        "STATICFILES": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "FORMATTER": "json",
        "PERIODIC_JOBS": "celery",
        "MIDDLEWARE0": "dashboard.logging.RequestIdMiddleware",
        "WHITENOISE": True,
    }


def test_csrf_trusted_origins_default_to_https_on_the_allowed_hosts(tmp_path):
    env = production_env(tmp_path, ALLOWED_HOSTS="a.example.com")
    result = run_python(["-c", _DUMP], env)
    assert json.loads(result.stdout)["CSRF_TRUSTED_ORIGINS"] == ["https://a.example.com"]


_REQUESTS = """
import json, django
django.setup()
from django.test import Client
c = Client()
plain = c.get("/api/cohorts/", HTTP_HOST="dash.example.com")
health = c.get("/healthz", HTTP_HOST="dash.example.com")
proxied = c.get("/healthz", HTTP_HOST="dash.example.com", HTTP_X_FORWARDED_PROTO="https")
evil = c.get("/healthz", HTTP_HOST="evil.example.org", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "health": health.status_code,
    "proxied": [proxied.status_code, proxied.get("Strict-Transport-Security")],
    "request_id": bool(proxied.get("X-Request-ID")),
    "evil": evil.status_code,
}))
"""


def test_http_redirects_to_https_except_health_and_https_gets_hsts(tmp_path):
    result = run_python(["-c", _REQUESTS], production_env(tmp_path, LOG_FORMAT="plain"))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["plain"] == [301, "https://dash.example.com/api/cohorts/"]
    assert values["health"] == 200
    assert values["proxied"] == [200, "max-age=31536000; includeSubDomains; preload"]
    assert values["request_id"] is True
    assert values["evil"] == 400


_MODE = """
import django
django.setup()
from django.conf import settings
print(settings.PERIODIC_JOBS)
"""


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({"SIMULATE": "1"}, "inprocess"),  # make run: the jobs run in the server process
        ({"SIMULATE": "0"}, "off"),  # a quiet server for tests and benchmarks
        ({"SIMULATE": "0", "PERIODIC_JOBS": "inprocess"}, "inprocess"),
        ({"SIMULATE": "1", "PERIODIC_JOBS": "celery"}, "celery"),
    ],
)
def test_embedded_default_runs_the_jobs_in_process_with_the_simulator(tmp_path, env, mode):
    base = production_env(tmp_path, DJANGO_SETTINGS_MODULE="dashboard.settings.base", **env)
    result = run_python(["-c", _MODE], base)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == mode


_STATIC = """
import json, django
django.setup()
from django.templatetags.static import static
from django.test import Client
c = Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
hashed = static("app/src/main.js")
plain = c.get("/static/app/src/main.js")
immutable = c.get(hashed)
print(json.dumps({
    "hashed": hashed,
    "plain": plain.status_code,
    "immutable": [immutable.status_code, immutable.get("Cache-Control")],
}))
"""


def test_the_image_build_step_collects_static_files_that_whitenoise_serves(tmp_path):
    # The Dockerfile's step, with a random throwaway key: no other variable is needed.
    build = production_env(tmp_path, ALLOWED_HOSTS="localhost")
    collected = run_python(["manage.py", "collectstatic", "--noinput", "--verbosity", "0"], build)
    assert collected.returncode == 0, collected.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    assert "app/src/main.js" in manifest["paths"]
    assert (tmp_path / "static" / "app" / "src" / "main.js.gz").exists()

    served = run_python(["-c", _STATIC], production_env(tmp_path, ALLOWED_HOSTS="localhost"))
    assert served.returncode == 0, served.stderr
    values = json.loads(served.stdout.strip().splitlines()[-1])
    assert values["hashed"] == "/static/" + manifest["paths"]["app/src/main.js"]
    assert values["plain"] == 200
    assert values["immutable"][0] == 200
    assert "immutable" in values["immutable"][1]
