"""render.yaml and the Railway config files, checked against the platforms' documented
formats (no schema for either is available offline), and the health path they probe
answering 200 under the production settings with the environment they give."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.helpers import ROOT, production_env, run_python

ENTRYPOINT = "/app/deploy/entrypoint.sh"
ROLES = {"web", "worker", "beat", "metrics"}
RAILWAY_FILES = {
    "web": ROOT / "railway.json",
    "worker": ROOT / "deploy" / "railway" / "worker.json",
    "beat": ROOT / "deploy" / "railway" / "beat.json",
    "metrics": ROOT / "deploy" / "railway" / "metrics.json",
}
# What production cannot start without, and what makes it a deployment of several processes.
REQUIRED = {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"}
# Set by the platform itself.
PLATFORM = {"PORT"}

_SETTINGS_VAR = re.compile(r'env_(?:str|bool|int|list|required)\(\s*"([A-Z][A-Z0-9_]*)"')


def settings_variables() -> set[str]:
    """Return every environment variable the settings read (through dashboard.settings.env)."""
    names: set[str] = set()
    for path in (ROOT / "dashboard" / "settings").glob("*.py"):
        names |= set(_SETTINGS_VAR.findall(path.read_text()))
    return names


def deploy_doc_section(title: str) -> str:
    text = (ROOT / "docs" / "deploy.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, f"docs/deploy.md has no '## {title}' section"
    return match.group(1)


def documented_variables() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))


# --------------------------------------------------------------------------------------
# Render
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def render() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "render.yaml").read_text())


def render_services(render: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in render["services"]}


def render_env(render: dict[str, Any], service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the service's variables, its groups' included, by name."""
    groups = {g["name"]: g for g in render.get("envVarGroups", [])}
    out: dict[str, dict[str, Any]] = {}
    for entry in service.get("envVars", []):
        if "fromGroup" in entry:
            for var in groups[entry["fromGroup"]]["envVars"]:
                out[var["key"]] = var
        else:
            out[entry["key"]] = entry
    return out


def test_render_blueprint_has_only_documented_top_level_keys(render):
    assert set(render) <= {"services", "databases", "envVarGroups", "projects", "previews"}
    assert render["services"] and render["databases"]


def test_render_runs_every_role_from_the_one_image_and_entrypoint(render):
    roles: dict[str, str] = {}
    for service in render["services"]:
        if service["type"] == "keyvalue":
            continue
        assert service["type"] in {"web", "worker"}, service["name"]
        assert service["runtime"] == "docker"
        assert service["dockerfilePath"] == "./Dockerfile"
        command = service["dockerCommand"].split()
        assert command[0] == ENTRYPOINT and len(command) == 2
        roles[command[1]] = service["type"]
    assert roles == {"web": "web", "worker": "worker", "beat": "worker", "metrics": "worker"}


def test_render_web_checks_healthz_and_migrates_before_each_deploy(render):
    (web,) = [s for s in render["services"] if s["type"] == "web"]
    assert web["healthCheckPath"] == "/healthz"
    assert web["preDeployCommand"] == f"{ENTRYPOINT} migrate"


def test_render_runs_exactly_one_beat(render):
    (beat,) = [s for s in render["services"] if s.get("dockerCommand", "").endswith(" beat")]
    assert beat["numInstances"] == 1


def test_render_has_a_postgres_database_and_a_key_value_that_evicts_only_ttl_keys(render):
    (database,) = render["databases"]
    assert {"name", "databaseName", "user", "plan"} <= set(database)
    (redis,) = [s for s in render["services"] if s["type"] == "keyvalue"]
    assert redis["maxmemoryPolicy"] == "volatile-lru"
    assert "ipAllowList" in redis  # required for a Key Value instance


def test_render_wires_every_app_service_to_the_database_and_key_value(render):
    services = render_services(render)
    (database,) = render["databases"]
    for service in render["services"]:
        if service["type"] == "keyvalue":
            continue
        env = render_env(render, service)
        assert env["DATABASE_URL"]["fromDatabase"] == {
            "name": database["name"],
            "property": "connectionString",
        }
        source = env["REDIS_URL"]["fromService"]
        assert source["property"] == "connectionString"
        assert services[source["name"]]["type"] == source["type"] == "keyvalue"


def test_render_generates_the_secret_key_and_asks_for_the_rest(render):
    for service in render["services"]:
        if service["type"] == "keyvalue":
            continue
        env = render_env(render, service)
        assert set(env) >= REQUIRED, service["name"]
        assert env["SECRET_KEY"] == {"key": "SECRET_KEY", "generateValue": True}
        assert env["ALLOWED_HOSTS"] == {"key": "ALLOWED_HOSTS", "sync": False}
        for name, var in env.items():
            sources = {"value", "generateValue", "sync", "fromDatabase", "fromService"} & set(var)
            assert len(sources) == 1, f"{name}: one source per variable"
            if "sync" in var:
                assert var["sync"] is False
            if "value" in var:
                assert isinstance(var["value"], str), f"{name}: quote it, Render wants strings"


def test_every_variable_the_settings_read_is_provided_or_documented(render):
    (web,) = [s for s in render["services"] if s["type"] == "web"]
    provided = set(render_env(render, web))
    missing = settings_variables() - provided - documented_variables() - PLATFORM
    assert not missing, f"neither in render.yaml nor documented: {sorted(missing)}"
    assert provided <= settings_variables() | documented_variables(), "an unknown variable"


# --------------------------------------------------------------------------------------
# Railway
# --------------------------------------------------------------------------------------

_RAILWAY_BUILD = {"builder", "dockerfilePath", "watchPatterns", "buildCommand"}
_RAILWAY_DEPLOY = {
    "startCommand",
    "preDeployCommand",
    "healthcheckPath",
    "healthcheckTimeout",
    "numReplicas",
    "overlapSeconds",
    "drainingSeconds",
    "restartPolicyType",
    "restartPolicyMaxRetries",
    "cronSchedule",
    "sleepApplication",
    "region",
}


@pytest.fixture(scope="module")
def railway() -> dict[str, dict[str, Any]]:
    return {role: json.loads(path.read_text()) for role, path in RAILWAY_FILES.items()}


def test_railway_files_use_only_documented_keys_and_build_the_dockerfile(railway):
    for role, config in railway.items():
        assert set(config) <= {"$schema", "build", "deploy"}, role
        assert config["$schema"] == "https://railway.com/railway.schema.json"
        assert set(config["build"]) <= _RAILWAY_BUILD, role
        assert set(config["deploy"]) <= _RAILWAY_DEPLOY, role
        assert config["build"]["builder"] == "DOCKERFILE"
        assert config["build"]["dockerfilePath"] == "Dockerfile"
        assert config["deploy"]["restartPolicyType"] in {"ON_FAILURE", "ALWAYS", "NEVER"}


def test_railway_runs_each_role_through_the_entrypoint(railway):
    for role, config in railway.items():
        assert config["deploy"]["startCommand"] == f"{ENTRYPOINT} {role}"
    assert set(railway) == ROLES


def test_railway_web_checks_healthz_and_migrates_before_each_deploy(railway):
    deploy = railway["web"]["deploy"]
    assert deploy["healthcheckPath"] == "/healthz"
    assert deploy["preDeployCommand"] == [f"{ENTRYPOINT} migrate"]
    for role in ROLES - {"web"}:
        assert "healthcheckPath" not in railway[role]["deploy"], role  # no HTTP server
        assert "preDeployCommand" not in railway[role]["deploy"], role
    assert railway["beat"]["deploy"]["numReplicas"] == 1


def railway_variables() -> dict[str, str]:
    """Return the variables block docs/deploy.md tells Railway users to set."""
    section = deploy_doc_section("Railway")
    block = re.search(r"```sh\n\s*# railway variables\n(.*?)```", section, re.S)
    assert block, "the Railway section has no '# railway variables' block"
    pairs = re.findall(r"^\s*([A-Z][A-Z0-9_]*)=(\S+)", block.group(1), re.M)
    return dict(pairs)


def test_railway_docs_name_every_required_variable_and_each_per_service_file():
    variables = railway_variables()
    assert set(variables) >= REQUIRED
    assert variables["DATABASE_URL"] == "${{Postgres.DATABASE_URL}}"
    assert variables["REDIS_URL"] == "${{Redis.REDIS_URL}}"
    # Railway's health checks come from this host name: Django must accept it.
    assert "healthcheck.railway.app" in variables["ALLOWED_HOSTS"].split(",")
    section = deploy_doc_section("Railway")
    for path in RAILWAY_FILES.values():
        assert str(path.relative_to(ROOT)) in section
    missing = settings_variables() - set(variables) - documented_variables() - PLATFORM
    assert not missing, sorted(missing)


def test_render_docs_give_the_blueprint_steps():
    section = deploy_doc_section("Render")
    assert "render.yaml" in section and "Blueprint" in section
    assert "ALLOWED_HOSTS" in section


# --------------------------------------------------------------------------------------
# The health path, under production settings, with what each platform gives
# --------------------------------------------------------------------------------------

_HEALTH = """
import json, django
django.setup()
from django.test import Client
response = Client().get({path!r}, HTTP_HOST={host!r})
print(json.dumps([response.status_code, response.content.decode()]))
"""


def _health(tmp_path: Path, env: dict[str, str], path: str, host: str) -> tuple[int, str]:
    result = run_python(["-c", _HEALTH.format(path=path, host=host)], env)
    assert result.returncode == 0, result.stderr
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    return status, body


def test_render_health_path_answers_200_under_production_settings(tmp_path, render):
    (web,) = [s for s in render["services"] if s["type"] == "web"]
    env = production_env(tmp_path)
    for name, var in render_env(render, web).items():
        if "value" in var:
            env[name] = var["value"]
        elif var.get("generateValue"):
            env[name] = secrets.token_urlsafe(50)
    host = "dashboard-web.onrender.com"
    env["ALLOWED_HOSTS"] = host
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # /healthz needs neither Redis nor the database
    status, body = _health(tmp_path, env, web["healthCheckPath"], host)
    assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_railway_health_path_answers_200_for_railways_health_check_host(tmp_path, railway):
    env = production_env(tmp_path)
    for name, value in railway_variables().items():
        if "${{" not in value:
            env[name] = value
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    status, body = _health(
        tmp_path, env, railway["web"]["deploy"]["healthcheckPath"], "healthcheck.railway.app"
    )
    assert (status, json.loads(body)) == (200, {"status": "ok"})
