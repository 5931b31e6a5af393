"""What every API view shares: authentication, the write throttle, the error responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from dashboard.apis.serializers import ErrorSerializer
from dashboard.apis.throttling import WriteThrottle
from dashboard.text import PROBLEMS, text_problem


class ApiView(APIView):
    throttle_classes = [WriteThrottle]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # ``?limit=1&limit=500`` would silently mean the last one, and DRF reads
        # ``?limit=`` as absent (the default): refuse both instead of guessing.
        problems = {}
        for name, values in request.query_params.lists():
            if len(values) > 1:
                problems[name] = ["Given more than once."]
            elif values == [""]:
                problems[name] = ["Must not be empty."]
        if problems:
            raise ValidationError(problems)


def errors(*codes: int) -> dict[int, Any]:
    """Return the OpenAPI responses for the error statuses a view may answer."""
    return {code: OpenApiResponse(ErrorSerializer) for code in (401, *codes)}


class IdConverter:
    """A path id: 1 to 18 digits, so no value can overflow a database integer."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class StrictSerializer(serializers.Serializer):
    """Refuse fields the operation does not know, so a typo is an error, not a no-op.

    ``required_any_of`` names fields of which at least one must be given (the OpenAPI
    schema says so too, as ``anyOf`` of ``required``).
    """

    required_any_of: tuple[str, ...] = ()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(self.initial_data, dict):
            return attrs
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        if self.required_any_of and not any(name in attrs for name in self.required_any_of):
            message = f"Give at least one of: {', '.join(self.required_any_of)}."
            raise serializers.ValidationError({name: [message] for name in self.required_any_of})
        return attrs


class StrictIntegerField(serializers.IntegerField):
    """An integer field that takes JSON integers only: DRF's also takes ``"50"``, ``1.0``
    and ``true``, which a client then believes the server understood as it meant."""

    default_error_messages = {"not_an_integer": "Must be a JSON integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_an_integer")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A text field that takes JSON strings only (DRF's also turns numbers into text), with
    visible content and no bidirectional override controls."""

    default_error_messages = {"not_a_string": "Must be a string.", **PROBLEMS}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        problem = text_problem(data)
        if problem is not None:
            self.fail(problem)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A flag that takes JSON ``true`` / ``false`` only (DRF's also takes "yes", 1, "on"...)."""

    default_error_messages = {"not_a_boolean": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("not_a_boolean")
        return data
