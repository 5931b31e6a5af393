"""GET, PATCH /api/me/notifications/: the caller's email preferences."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.apis.base import ApiView, StrictBooleanField, StrictSerializer, errors
from dashboard.selectors.notifications import notification_preferences
from dashboard.services.notifications import notification_preferences_update


class NotificationPreferencesApi(ApiView):
    class InputSerializer(StrictSerializer):
        at_risk_email = StrictBooleanField(required=False)
        daily_digest = StrictBooleanField(required=False)

    class OutputSerializer(serializers.Serializer):
        at_risk_email = serializers.BooleanField(
            help_text="An email when a learner of a cohort you mentor becomes at risk."
        )
        daily_digest = serializers.BooleanField(help_text="A daily digest of each such cohort.")

    @extend_schema(operation_id="notifications", responses={200: OutputSerializer, **errors()})
    def get(self, request: Request) -> Response:
        return Response(notification_preferences(user=request.user))  # type: ignore[arg-type]

    @extend_schema(
        operation_id="notifications_update",
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 429)},
    )
    def patch(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            notification_preferences_update(user=request.user, **body.validated_data)  # type: ignore[arg-type]
        )
