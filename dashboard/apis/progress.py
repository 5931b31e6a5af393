from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.apis.base import ApiView, StrictIntegerField, StrictSerializer, errors
from dashboard.apis.serializers import ConflictSerializer, ProgressSerializer
from dashboard.models import Progress
from dashboard.services.progress import progress_payload, progress_update


class ProgressUpdateApi(ApiView):
    class InputSerializer(StrictSerializer):
        required_any_of = ("status", "score")

        status = serializers.ChoiceField(choices=Progress.Status.values, required=False)
        score = StrictIntegerField(min_value=0, max_value=100, required=False, allow_null=True)
        version = StrictIntegerField(min_value=1, max_value=2**31 - 1)

    class OutputSerializer(ProgressSerializer):
        seq = serializers.IntegerField(
            allow_null=True, help_text="The event this write appended; null when nothing changed."
        )

    @extend_schema(
        operation_id="progress_update",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            409: OpenApiResponse(ConflictSerializer),
            **errors(400, 403, 404, 413, 429),
        },
    )
    def patch(
        self, request: Request, cohort_id: int, learner_id: int, milestone_slug: str
    ) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change = progress_update(
            actor=request.user,  # type: ignore[arg-type]
            cohort_id=cohort_id,
            learner_id=learner_id,
            milestone_slug=milestone_slug,
            **body.validated_data,
        )
        return Response(
            progress_payload(change.progress, change.milestone_slug) | {"seq": change.seq}
        )
