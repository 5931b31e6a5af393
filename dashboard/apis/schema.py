"""OpenAPI generation tweaks for the one-view-per-operation style."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Name nested serializers after their owners: ``CohortListApi.OutputSerializer``
    becomes ``CohortListOutput``, so every view's ``OutputSerializer`` gets its own
    component instead of all colliding as ``Output``."""

    def get_serializer_name(self, serializer: Any, direction: str) -> str:
        cls = serializer if isinstance(serializer, type) else type(serializer)
        parts = cls.__qualname__.split(".")
        if len(parts) == 1:
            return super().get_serializer_name(serializer, direction)
        return "".join(part.removesuffix("Serializer").removesuffix("Api") for part in parts)
