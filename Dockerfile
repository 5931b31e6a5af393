# syntax=docker/dockerfile:1
# One image for every role of the deployment: web (uvicorn), metrics (the cache metrics
# sampler), worker and beat (Celery), migrate. `deploy/entrypoint.sh` picks the role.
#
#   docker build -t cohort-dashboard .
#   docker run --env-file .env -p 8000:8000 cohort-dashboard web

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --------------------------------------------------------------------------------------
# Stage 1: build every dependency as a wheel, install them into a virtualenv
# --------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Only the dependency list: the wheel layer is rebuilt when pyproject.toml changes, not
# on every code change.
COPY pyproject.toml ./
RUN python -m pip wheel --wheel-dir /wheels . \
    && rm -f /wheels/cohort_dashboard-*.whl \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links=/wheels /wheels/*.whl

# The one compiled piece of the project: the fan-out's sends (realtime/_sendmany.c),
# built here with the compiler the runtime stage does not have.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY setup.py ./
COPY realtime/_sendmany.c realtime/
RUN python setup.py build_ext --inplace

# --------------------------------------------------------------------------------------
# Stage 2: the slim runtime, no compilers, no wheels, a non-root user
# --------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="cohort-dashboard" \
      org.opencontainers.image.description="Live cohort dashboard: web, metrics sampler, Celery worker and beat"

# The project is not installed as a package: /app on the path makes `dashboard` and
# `realtime` importable from any command (celery's CLI does not keep the cwd on it).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=dashboard.settings.production \
    PORT=8000

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The code is owned by root and read-only to the app user.
COPY . .
COPY --from=build /src/realtime/_sendmany.*.so realtime/

# Static files are collected into the image (hashed names, pre-compressed) and served by
# WhiteNoise. The settings need a strong SECRET_KEY to load: a random one for this step only.
RUN SECRET_KEY="$(python -c "import secrets; print(secrets.token_urlsafe(50))")" ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput --verbosity 0 \
    && chmod 0755 deploy/entrypoint.sh

USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/app/deploy/entrypoint.sh", "healthcheck"]

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
