"""The mentor's reads of v1.1: the filtered learners, a learner's timeline, a cell's history."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.apis.base import ApiView, errors
from dashboard.apis.cohorts import CohortSnapshotApi
from dashboard.apis.serializers import EventSerializer, UserRefSerializer
from dashboard.models import Progress
from dashboard.selectors.learners import LearnerFilter, cohort_learners
from dashboard.selectors.privacy import viewer_for_or_404
from dashboard.selectors.timeline import TIMELINE_MAX, cell_history, learner_timeline

_TRUE_FALSE = {"true": True, "false": False}


def _bool_param(help_text: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=list(_TRUE_FALSE), required=False, help_text=help_text)


class LearnerListApi(ApiView):
    class InputSerializer(serializers.Serializer):
        at_risk = _bool_param("Only learners at risk (true) or on track (false); not for learners.")
        overdue = _bool_param("Only learners with (true) or without (false) an overdue milestone.")
        milestone = serializers.SlugField(required=False, help_text="With `status`: one cell.")
        status = serializers.ChoiceField(choices=Progress.Status.values, required=False)
        search = serializers.CharField(
            required=False, max_length=100, help_text="Part of the name, any case and accents."
        )

    class OutputSerializer(serializers.Serializer):
        results = CohortSnapshotApi.OutputSerializer.LearnerSerializer(many=True)

    @extend_schema(
        operation_id="cohort_learners",
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, cohort_id: int) -> Response:
        viewer = viewer_for_or_404(user=request.user, cohort_id=cohort_id)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        for name in ("at_risk", "overdue"):
            if name in data:
                data[name] = _TRUE_FALSE[data[name]]
        results = cohort_learners(cohort_id=cohort_id, viewer=viewer, filters=LearnerFilter(**data))
        return Response({"results": results})


class LearnerTimelineApi(ApiView):
    class InputSerializer(serializers.Serializer):
        before = serializers.IntegerField(
            min_value=1, max_value=2**62, required=False, help_text="Events with seq < before."
        )
        limit = serializers.IntegerField(min_value=1, max_value=TIMELINE_MAX, default=50)

    class OutputSerializer(serializers.Serializer):
        class LearnerSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            name = serializers.CharField()
            completion = serializers.FloatField()
            at_risk = serializers.BooleanField()
            risk_reasons = serializers.ListField(child=serializers.CharField())

        learner = LearnerSerializer()
        results = EventSerializer(many=True)
        next = serializers.IntegerField(
            allow_null=True, help_text="The `before` of the next (older) page; null at the end."
        )

    @extend_schema(
        operation_id="learner_timeline",
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, cohort_id: int, learner_id: int) -> Response:
        viewer = viewer_for_or_404(user=request.user, cohort_id=cohort_id)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(
            learner_timeline(
                cohort_id=cohort_id, learner_id=learner_id, viewer=viewer, **params.validated_data
            )
        )


class ProgressHistoryApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        class VersionSerializer(serializers.Serializer):
            version = serializers.IntegerField()
            status = serializers.ChoiceField(choices=Progress.Status.values)
            score = serializers.IntegerField(allow_null=True)
            at = serializers.DateTimeField()
            actor = UserRefSerializer(allow_null=True)
            seq = serializers.IntegerField()

        results = VersionSerializer(many=True)

    @extend_schema(
        operation_id="progress_history", responses={200: OutputSerializer, **errors(404)}
    )
    def get(
        self, request: Request, cohort_id: int, learner_id: int, milestone_slug: str
    ) -> Response:
        viewer = viewer_for_or_404(user=request.user, cohort_id=cohort_id)
        results = cell_history(
            cohort_id=cohort_id, learner_id=learner_id, milestone_slug=milestone_slug, viewer=viewer
        )
        return Response({"results": results})
