"""The deploy files validate: Dockerfile (hadolint), docker-compose.yml (the compose spec),
nginx.conf, the entrypoint, and .env.example documents every variable the code reads."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from tests.deploy.helpers import ENTRYPOINT, ROOT, VENV_BIN, production_env
from tests.support import free_port

APP_SERVICES = {"migrate", "web", "metrics", "worker", "beat"}
ROLES = {"web", "metrics", "worker", "beat", "migrate"}


def tool(name: str) -> str:
    """Return the path of a pinned dev tool (installed with `pip install -e '.[dev]'`)."""
    path = VENV_BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is missing: install the dev dependencies (make install)"
    return found


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def default_of(value: object) -> str:
    """Return the default of a ``${VAR:-default}`` value, or the value itself."""
    match = re.fullmatch(r"\$\{\w+:-([^}]*)\}", str(value))
    return match.group(1) if match else str(value)


# --------------------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------------------


def test_dockerfile_is_hadolint_clean():
    for threshold in ("error", "warning"):
        result = subprocess.run(
            [tool("hadolint"), "--no-color", "--failure-threshold", threshold, "Dockerfile"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_wheels_then_runs_slim_as_a_non_root_user():
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2
    assert stages[0].endswith("AS build") and stages[1].endswith("AS runtime")
    assert any("ARG PYTHON_IMAGE=python:3.11-slim" in line for line in lines)
    assert any("pip wheel --wheel-dir /wheels" in line for line in lines)
    assert "COPY --from=build /opt/venv /opt/venv" in lines
    users = [line for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"USER root", "USER 0", "USER 0:0"}
    assert lines.index(users[-1]) > max(i for i, x in enumerate(lines) if x.startswith("RUN"))
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"SECRET_KEY=\S+ .*\n?.*manage.py collectstatic --noinput", text)
    assert 'CMD ["/app/deploy/entrypoint.sh", "healthcheck"]' in text
    # Not installed as a package, so the code root must be on the path for every command.
    assert "PYTHONPATH=/app" in text
    # The fan-out's C extension is compiled in the build stage (the runtime has no gcc).
    assert "RUN python setup.py build_ext --inplace" in text
    assert "COPY --from=build /src/realtime/_sendmany.*.so realtime/" in text
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in text
    assert 'CMD ["web"]' in text


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env", "db.sqlite3*", "staticfiles", "node_modules"} <= ignored


# --------------------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec():
    result = subprocess.run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            "docker-compose.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_every_role_from_one_image():
    services = compose()["services"]
    assert set(services) == APP_SERVICES | {"postgres", "redis", "nginx"}
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"] == "."
        assert service["image"] == "cohort-dashboard:latest"
        assert service["env_file"] == ".env"
        [role] = service["command"]
        assert role in ROLES
    assert {services[name]["command"][0] for name in APP_SERVICES} == ROLES


def test_compose_web_has_two_replicas_behind_nginx_and_no_published_port():
    services = compose()["services"]
    assert default_of(services["web"]["deploy"]["replicas"]) == "2"
    assert "ports" not in services["web"]
    assert services["nginx"]["ports"] == ["${HTTP_PORT:-80}:80"]
    assert services["nginx"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert default_of(services["beat"]["deploy"]["replicas"]) == "1"


def test_compose_starts_in_order_with_health_conditions():
    services = compose()["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES - {"migrate"}:
        depends = services[name]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
    for name in ("postgres", "redis", "web", "worker", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    assert services["web"]["healthcheck"]["test"] == [
        "CMD",
        "/app/deploy/entrypoint.sh",
        "healthcheck",
    ]


def test_compose_points_every_app_service_at_postgres_and_redis():
    for name in APP_SERVICES:
        env = compose()["services"][name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["DATABASE_URL"].endswith("@postgres:5432/${POSTGRES_DB:-dashboard}")
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/1"
        assert env["PERIODIC_JOBS"] == "celery"
        # The sampler is its own service: the web replicas must not run one each.
        assert env["METRICS_SAMPLER_IN_PROCESS"] == "false"
        assert env["DJANGO_SETTINGS_MODULE"] == "dashboard.settings.production"


# --------------------------------------------------------------------------------------
# nginx.conf
# --------------------------------------------------------------------------------------


def _block(text: str, opening: str) -> str:
    start = text.index(opening)
    depth = 0
    for i in range(start, len(text)):
        depth += text[i] == "{"
        depth -= text[i] == "}"
        if text[i] == "}" and depth == 0:
            return text[start:i]
    raise AssertionError(f"unclosed {opening}")


def test_nginx_proxies_websockets_with_the_upgrade_headers_and_no_stickiness():
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    ws = _block(text, "location /ws/ {")
    for directive in (
        "proxy_pass http://web;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-Proto $forwarded_proto;",
        "proxy_set_header X-Request-ID $request_id;",
    ):
        assert directive in ws, directive
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", ws).group(1))
    assert read_timeout > 60  # above the server's idle close, so the server closes first
    rest = _block(text, "location / {")
    assert "proxy_set_header X-Request-ID $request_id;" in rest
    assert "proxy_set_header X-Forwarded-Proto $forwarded_proto;" in rest
    upstream = _block(text, "upstream web {")
    assert "server web:8000 resolve;" in upstream
    for sticky in ("ip_hash", "hash ", "sticky"):
        assert sticky not in upstream
    assert text.count("{") == text.count("}")


# --------------------------------------------------------------------------------------
# The entrypoint and the health check
# --------------------------------------------------------------------------------------


def test_entrypoint_is_a_valid_posix_script_with_every_role():
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=False).returncode == 0
    text = ENTRYPOINT.read_text()
    for role in (*ROLES, "healthcheck"):
        assert re.search(rf"^\s+{role}\)$", text, re.MULTILINE), role
    # The server's options are dashboard/serve.py's, as for `make run` (tests/deploy/test_serve.py).
    assert "exec python -m dashboard.serve" in text
    assert "--proxy-headers" in text
    assert "manage.py metrics_pump" in text


def test_entrypoint_runs_any_other_command(tmp_path):
    result = subprocess.run(
        [str(ENTRYPOINT), "python", "-c", "import os; print(os.getcwd())"],
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(ROOT)


def test_entrypoint_puts_the_code_root_on_the_python_path(tmp_path):
    code = "import os, dashboard, realtime; print(os.environ['PYTHONPATH'])"
    result = subprocess.run(
        [str(ENTRYPOINT), "python", "-c", code],
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(":")[0] == str(ROOT)


def test_entrypoint_migrate_creates_the_schema(tmp_path):
    env = production_env(tmp_path)
    result = subprocess.run(
        [str(ENTRYPOINT), "migrate"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "db.sqlite3").exists()
    again = subprocess.run(
        [str(ENTRYPOINT), "migrate"], env=env, capture_output=True, text=True, check=False
    )
    assert "No migrations to apply." in again.stdout


def test_healthcheck_fails_when_no_server_answers(tmp_path):
    env = production_env(tmp_path, PORT=str(free_port()))
    result = subprocess.run(
        [str(ENTRYPOINT), "healthcheck"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "healthcheck:" in result.stderr


# --------------------------------------------------------------------------------------
# .env.example
# --------------------------------------------------------------------------------------

_SETTINGS_VAR = re.compile(r'env_(?:str|bool|int|list|required)\(\s*"([A-Z][A-Z0-9_]*)"')
_SHELL_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::[-?][^}]*)?\}")
# Set by the platform or the image, never by an operator.
_NOT_CONFIGURATION = {"HOSTNAME"}


def _variables_read() -> set[str]:
    names: set[str] = set()
    for path in [*(ROOT / "dashboard").rglob("*.py"), *(ROOT / "realtime").rglob("*.py")]:
        names |= set(_SETTINGS_VAR.findall(path.read_text()))
    for path in (ENTRYPOINT, ROOT / "docker-compose.yml"):
        names |= set(_SHELL_VAR.findall(path.read_text()))
    names |= set(compose()["x-app"]["environment"])
    names |= set(compose()["services"]["web"]["environment"])
    return names - _NOT_CONFIGURATION


def test_env_example_documents_every_variable_the_deployment_reads():
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    )
    missing = _variables_read() - documented
    assert not missing, f"not in .env.example: {sorted(missing)}"
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"} <= documented


def test_env_example_required_values_are_placeholders_not_secrets():
    text = (ROOT / ".env.example").read_text()
    active = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.M))
    assert set(active) == {"SECRET_KEY", "ALLOWED_HOSTS", "POSTGRES_PASSWORD"}
    assert active["SECRET_KEY"].startswith("change-me")
    assert active["POSTGRES_PASSWORD"] == "change-me"


# --------------------------------------------------------------------------------------
# .github/workflows/ci.yml
# --------------------------------------------------------------------------------------

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def test_ci_workflow_is_valid_against_the_github_workflows_schema():
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_ci_runs_lint_types_tests_on_both_backends_browser_and_image():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert set(jobs) == {"lint", "test-sqlite", "test-postgres", "browser", "image"}

    lint = _runs(jobs["lint"])
    for command in (
        "ruff check .",
        "ruff format --check .",
        "mypy dashboard realtime",
        "hadolint",
        "vendor.compose-spec",
    ):
        assert command in lint, command

    assert "pytest -q" in _runs(jobs["test-sqlite"])
    assert "node --test frontend/tests/" in _runs(jobs["test-sqlite"])
    assert "DATABASE_URL" not in jobs["test-sqlite"].get("env", {})

    postgres = jobs["test-postgres"]
    assert set(postgres["services"]) == {"postgres", "redis"}
    assert postgres["env"]["DATABASE_URL"].startswith("postgres://")
    assert postgres["env"]["REDIS_URL"].startswith("redis://")
    assert "pytest -q" in _runs(postgres)

    browser = _runs(jobs["browser"])
    assert "chromium" in browser
    assert "pytest -q -m e2e tests/e2e" in browser

    image = jobs["image"]
    assert any(
        step.get("uses", "").startswith("docker/build-push-action") for step in image["steps"]
    )
    assert "check --deploy" in _runs(image)
    assert "Health.Status" in _runs(image)
