from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.apis.base import ApiView, StrictCharField, StrictSerializer, errors
from dashboard.apis.serializers import UserRefSerializer
from dashboard.selectors.access import cohort_role_or_404
from dashboard.selectors.comments import COMMENTS_PAGE_MAX, event_comments
from dashboard.services.reactions import COMMENT_MAX_LENGTH, comment_add, kudos_add


class KudosAddApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        event = serializers.IntegerField()
        kudos = serializers.IntegerField()

    @extend_schema(
        operation_id="kudos_add",
        request=None,
        responses={200: OutputSerializer, 201: OutputSerializer, **errors(400, 404, 429)},
    )
    def post(self, request: Request, cohort_id: int, seq: int) -> Response:
        result = kudos_add(actor=request.user, cohort_id=cohort_id, seq=seq)  # type: ignore[arg-type]
        return Response(
            {"event": result.event_seq, "kudos": result.kudos},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class EventCommentsApi(ApiView):
    class InputSerializer(StrictSerializer):
        text = StrictCharField(
            max_length=COMMENT_MAX_LENGTH, trim_whitespace=True, allow_blank=False
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        event = serializers.IntegerField()
        author = UserRefSerializer()
        text = serializers.CharField()
        at = serializers.DateTimeField()

    class ListInputSerializer(serializers.Serializer):
        after = serializers.IntegerField(
            min_value=0, max_value=2**62, default=0, help_text="Return comments with id > after."
        )
        limit = serializers.IntegerField(
            min_value=1, max_value=COMMENTS_PAGE_MAX, default=100, help_text="Page size."
        )

    @extend_schema(
        operation_id="comment_list",
        parameters=[ListInputSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 404)},
    )
    def get(self, request: Request, cohort_id: int, seq: int) -> Response:
        cohort_role_or_404(user=request.user, cohort_id=cohort_id)
        params = self.ListInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(event_comments(cohort_id=cohort_id, seq=seq, **params.validated_data))

    @extend_schema(
        operation_id="comment_add",
        request=InputSerializer,
        responses={201: OutputSerializer, **errors(400, 404, 413, 429)},
    )
    def post(self, request: Request, cohort_id: int, seq: int) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        comment = comment_add(
            actor=request.user,  # type: ignore[arg-type]
            cohort_id=cohort_id,
            seq=seq,
            text=body.validated_data["text"],
        )
        return Response(comment, status=status.HTTP_201_CREATED)
