"""Every error leaves as ``{"error": {"code", "message", "fields"}}`` with its status."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from dashboard.errors import DomainError, VersionConflict

logger = logging.getLogger(__name__)

_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "bad_json",
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "forbidden",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
    drf.ValidationError: "invalid",
}


class PayloadTooLarge(drf.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"field.sub": ["message", ...]}``."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, speaking the error shape of api.md."""
    if isinstance(exc, DomainError):
        set_rollback()
        body = error_body(exc.code, exc.message, exc.fields)
        if isinstance(exc, VersionConflict):
            body["current"] = exc.current
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if not isinstance(exc, drf.APIException):
        return None

    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
    code = next((c for t, c in _DRF_CODES.items() if isinstance(exc, t)), None)
    if isinstance(exc, drf.AuthenticationFailed):
        # simplejwt's subclasses say which: token_not_valid (docs/api.md).
        code = str(exc.default_code)
    if isinstance(exc, drf.ValidationError):
        body = error_body("invalid", "The request is not valid.", _flatten(exc.detail))
    else:
        detail = exc.detail
        if isinstance(detail, dict) and isinstance(detail.get("detail"), str):
            detail = detail["detail"]
        message = str(detail) if not isinstance(detail, dict | list) else "Request refused."
        body = error_body(code or str(exc.default_code), message)
    return Response(body, status=exc.status_code, headers=headers)


@csrf_exempt
def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Answer any unknown /api/ path, whatever the method, with the JSON 404."""
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
