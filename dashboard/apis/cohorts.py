from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.apis.base import ApiView, errors
from dashboard.apis.serializers import EventSerializer, PresenceSerializer
from dashboard.selectors.cohorts import (
    EVENTS_PAGE_MAX,
    cohort_list,
    cohort_snapshot,
    events_after,
)
from dashboard.selectors.privacy import viewer_for_or_404

STATUS_COUNTS = {
    name: serializers.IntegerField()
    for name in ("not_started", "in_progress", "submitted", "completed")
}


class CohortListApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        program = serializers.CharField()
        start_date = serializers.DateField()
        end_date = serializers.DateField()
        learner_count = serializers.IntegerField()
        completion = serializers.FloatField(help_text="Completed cells / all cells, 0-1.")

    @extend_schema(
        operation_id="cohort_list", responses={200: OutputSerializer(many=True), **errors()}
    )
    def get(self, request: Request) -> Response:
        return Response(cohort_list(user=request.user))  # type: ignore[arg-type]


class CohortSnapshotApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        class CohortSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            name = serializers.CharField()
            program = serializers.CharField()
            start_date = serializers.DateField()
            end_date = serializers.DateField()

        class MilestoneSerializer(serializers.Serializer):
            slug = serializers.CharField()
            title = serializers.CharField()
            order = serializers.IntegerField()
            week = serializers.IntegerField()
            due_date = serializers.DateField(help_text="The last day of `week` for this cohort.")

        class CellSerializer(serializers.Serializer):
            status = serializers.ChoiceField(
                choices=["not_started", "in_progress", "submitted", "completed"]
            )
            score = serializers.IntegerField(allow_null=True)
            version = serializers.IntegerField()
            updated_at = serializers.DateTimeField()

        class LearnerSerializer(serializers.Serializer):
            id = serializers.IntegerField(help_text="The learner id (used in progress URLs).")
            user = serializers.IntegerField(help_text="The learner's user id (as in presence).")
            name = serializers.CharField()
            progress = serializers.DictField(child=serializers.DictField())
            at_risk = serializers.BooleanField(
                allow_null=True, help_text="null on a peer's entry, for a learner."
            )
            risk_reasons = serializers.ListField(
                child=serializers.CharField(), help_text="Empty on a peer's entry, for a learner."
            )

        class StatsSerializer(serializers.Serializer):
            completion = serializers.FloatField()
            by_milestone = serializers.DictField(
                child=serializers.DictField(child=serializers.IntegerField())
            )
            on_track = serializers.IntegerField()
            at_risk = serializers.IntegerField()

        cohort = CohortSerializer()
        milestones = MilestoneSerializer(many=True)
        learners = LearnerSerializer(many=True)
        stats = StatsSerializer()
        feed = EventSerializer(many=True)
        seq = serializers.IntegerField()
        presence = PresenceSerializer(many=True)
        generated_at = serializers.DateTimeField()

    @extend_schema(operation_id="cohort_snapshot", responses={200: OutputSerializer, **errors(404)})
    def get(self, request: Request, cohort_id: int) -> Response:
        viewer = viewer_for_or_404(user=request.user, cohort_id=cohort_id)
        return Response(cohort_snapshot(cohort_id=cohort_id, viewer=viewer))


class CohortEventsApi(ApiView):
    class InputSerializer(serializers.Serializer):
        after = serializers.IntegerField(
            min_value=0, max_value=2**62, default=0, help_text="Return events with seq > after."
        )
        limit = serializers.IntegerField(
            min_value=1, max_value=EVENTS_PAGE_MAX, default=100, help_text="Page size."
        )

    class OutputSerializer(serializers.Serializer):
        results = EventSerializer(many=True)
        head = serializers.IntegerField()

    @extend_schema(
        operation_id="cohort_events",
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, cohort_id: int) -> Response:
        viewer = viewer_for_or_404(user=request.user, cohort_id=cohort_id)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        results, head = events_after(cohort_id=cohort_id, viewer=viewer, **params.validated_data)
        return Response({"results": results, "head": head})
