"""Known or weak signing keys are refused with DEBUG off; the embedded default makes its
own random key once (docs/security.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.deploy.helpers import production_env, run_python

OLD_PUBLIC_DEFAULT = "insecure-embedded-default-key-only-for-local-development"
ENV_EXAMPLE = Path(__file__).resolve().parent.parent.parent / ".env.example"


def placeholder() -> str:
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.startswith("SECRET_KEY="):
            return line.split("=", 1)[1]
    raise AssertionError(".env.example has no SECRET_KEY line")


@pytest.mark.parametrize(
    "key", ["placeholder", OLD_PUBLIC_DEFAULT, "short-but-random-Zx81", "a" * 60, "ab" * 40]
)
def test_production_refuses_to_start_on_a_known_or_weak_key(tmp_path, key):
    key = placeholder() if key == "placeholder" else key
    result = run_python(["manage.py", "check"], production_env(tmp_path, SECRET_KEY=key))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "ImproperlyConfigured" in result.stderr


def test_production_refuses_a_weak_jwt_signing_key(tmp_path):
    result = run_python(
        ["manage.py", "check"], production_env(tmp_path, JWT_SIGNING_KEY="change-me")
    )
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stderr


def base_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="dashboard.settings.base")
    del env["SECRET_KEY"]
    env["SECRET_KEY_FILE"] = str(tmp_path / "var" / ".secret_key")
    env["ALLOWED_HOSTS"] = "testserver"
    env.update(overrides)
    return env


def test_base_settings_with_debug_off_refuse_the_old_public_default(tmp_path):
    env = base_env(tmp_path, DEBUG="false", SECRET_KEY=OLD_PUBLIC_DEFAULT)
    result = run_python(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY is a published placeholder or default" in result.stderr


_FORGE = f"""
import json, django, jwt
django.setup()
from django.conf import settings
from django.test import Client
from django.contrib.auth.models import User
from django.core.management import call_command
call_command("migrate", verbosity=0)
admin = User.objects.create_superuser("admin", password="admin")
forged = jwt.encode({{"token_type": "access", "exp": 4102444800, "iat": 1700000000,
                     "jti": "x", "user_id": str(admin.pk)}}, "{OLD_PUBLIC_DEFAULT}",
                    algorithm="HS256")
status = Client().get("/api/me/", HTTP_AUTHORIZATION="Bearer " + forged).status_code
print(json.dumps({{"status": status, "key": settings.SECRET_KEY}}))
"""


def test_make_run_settings_refuse_a_jwt_forged_with_the_old_public_key(tmp_path):
    env = base_env(tmp_path)
    first = run_python(["-c", _FORGE], env)
    assert first.returncode == 0, first.stderr
    values = json.loads(first.stdout.strip().splitlines()[-1])
    assert values["status"] == 401
    key_file = tmp_path / "var" / ".secret_key"
    assert values["key"] == key_file.read_text().strip()
    assert len(values["key"]) >= 50
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    # The same key on the next start: sessions and tokens survive a restart.
    again = run_python(["-c", _FORGE.replace('"admin", password', '"admin2", password')], env)
    assert json.loads(again.stdout.strip().splitlines()[-1])["key"] == values["key"]


def test_the_old_public_default_is_refused_with_debug_on_too(tmp_path):
    """Not only production: a process given the old default key never signs with it."""
    result = run_python(["-c", _FORGE], base_env(tmp_path))
    assert OLD_PUBLIC_DEFAULT not in result.stdout


def test_the_local_key_file_is_git_ignored():
    root = ENV_EXAMPLE.parent
    assert ".secret_key" in (root / ".gitignore").read_text().split()
    assert ".secret_key" in (root / ".dockerignore").read_text().split()
