"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from dashboard import redis_clients

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready only when the database and (when configured) Redis answer."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        logger.warning("readyz: database check failed: %s", exc)
        checks["database"] = "down"
    if settings.REDIS_URL:
        checks["redis"] = "ok" if _redis_ok() else "down"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


def _redis_ok() -> bool:
    # The process's shared pool: a probe every few seconds opens no connection of its own.
    try:
        return bool(redis_clients.client(settings.REDIS_URL).ping())
    except redis.RedisError as exc:
        logger.warning("readyz: redis check failed: %s", exc)
        return False
