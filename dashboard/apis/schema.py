"""OpenAPI generation tweaks for the one-view-per-operation style."""

from __future__ import annotations

from typing import Any, Literal

from django.conf import settings
from django.http import Http404
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework.permissions import BasePermission


class AutoSchema(SpectacularAutoSchema):
    """Name nested serializers after their owners (``CohortListApi.OutputSerializer``
    becomes ``CohortListOutput``, instead of every view's colliding as ``Output``), and
    mark strict request bodies as refusing undeclared fields."""

    def get_serializer_name(
        self, serializer: Any, direction: Literal["request", "response"]
    ) -> str:
        cls = serializer if isinstance(serializer, type) else type(serializer)
        parts = cls.__qualname__.split(".")
        if len(parts) == 1:
            return super().get_serializer_name(serializer, direction)
        return "".join(part.removesuffix("Serializer").removesuffix("Api") for part in parts)

    def _map_basic_serializer(
        self, serializer: Any, direction: Literal["request", "response"]
    ) -> dict[str, Any]:
        """Say in the schema what ``StrictSerializer`` enforces: no undeclared fields."""
        from dashboard.apis.base import StrictSerializer

        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
            if serializer.required_any_of:
                schema["anyOf"] = [{"required": [name]} for name in serializer.required_any_of]
        return schema


class DocsAccess(BasePermission):
    """Let callers read the schema and Swagger UI as ``API_DOCS`` says: ``public``,
    ``authenticated`` (a session or a token), or ``off`` (404, as if not there)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        mode = settings.API_DOCS
        if mode == "off":
            raise Http404
        return mode == "public" or bool(request.user and request.user.is_authenticated)
