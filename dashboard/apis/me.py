from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.apis.base import ApiView, errors
from dashboard.formats import display_name
from dashboard.selectors.cohorts import user_memberships


class MeApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        class MembershipSerializer(serializers.Serializer):
            cohort = serializers.IntegerField()
            role = serializers.ChoiceField(choices=["learner", "mentor"])
            learner = serializers.IntegerField(allow_null=True)

        id = serializers.IntegerField()
        username = serializers.CharField()
        name = serializers.CharField()
        is_staff = serializers.BooleanField()
        memberships = MembershipSerializer(many=True)

    @extend_schema(operation_id="me", responses={200: OutputSerializer, **errors()})
    def get(self, request: Request) -> Response:
        user = request.user
        return Response(
            {
                "id": user.pk,
                "username": user.get_username(),
                "name": display_name(user),  # type: ignore[arg-type]
                "is_staff": bool(user.is_staff),
                "memberships": user_memberships(user=user),  # type: ignore[arg-type]
            }
        )
