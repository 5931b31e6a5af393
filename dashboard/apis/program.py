"""GET /api/program/overview/: every cohort compared at the same program week (staff)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.apis.base import ApiView, errors
from dashboard.errors import Forbidden
from dashboard.selectors.program import program_overview


class ProgramOverviewApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        class CohortSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            name = serializers.CharField()
            week = serializers.IntegerField(help_text="The current program week (0: not started).")
            completion = serializers.FloatField()
            expected_completion = serializers.FloatField(
                help_text="The share of cells whose milestone is past due."
            )
            on_track = serializers.IntegerField()
            at_risk = serializers.IntegerField()
            completion_by_week = serializers.ListField(
                child=serializers.FloatField(),
                help_text="Completion at the end of week 1, 2, ... for each week that has ended.",
            )

        class MilestoneSerializer(serializers.Serializer):
            slug = serializers.CharField()
            title = serializers.CharField()
            median_days_late = serializers.FloatField()

        cohorts = CohortSerializer(many=True)
        slowest_milestones = MilestoneSerializer(many=True)

    @extend_schema(
        operation_id="program_overview", responses={200: OutputSerializer, **errors(403)}
    )
    def get(self, request: Request) -> Response:
        if not request.user.is_staff:
            # No cohort is named, so nothing's existence is at stake: a plain 403.
            raise Forbidden("The program view is for staff.")
        return Response(program_overview())
