"""OpenAPI generation tweaks for the one-view-per-operation style."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


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
        return schema
