"""Cache metrics over REST: the latest sample and the last ten minutes of them (downsampled
on request: the page asks for one sample in ten)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.apis.base import ApiView, errors
from dashboard.cache_metrics import HISTORY_SECONDS
from dashboard.selectors.access import can_see_cache_metrics
from dashboard.selectors.metrics import cache_metrics_overview


class CanSeeCacheMetrics(BasePermission):
    message = "Only mentors and staff see the cache metrics."

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_see_cache_metrics(request.user)  # type: ignore[arg-type]


class CacheLatencySerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True, help_text="Milliseconds; null without ops.")
    p99 = serializers.FloatField(allow_null=True)


class CacheWindowSerializer(serializers.Serializer):
    seconds = serializers.IntegerField(help_text="The sliding window's length (60).")
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    hit_ratio = serializers.FloatField(allow_null=True, help_text="Null without lookups.")
    sets = serializers.IntegerField()
    deletes = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="Failed cache ops.")  # type: ignore[assignment]
    ops = serializers.IntegerField()
    saved_ms = serializers.FloatField(help_text="Time the window's hits saved, all families.")


class CacheFamilySerializer(serializers.Serializer):
    hits = serializers.IntegerField(help_text="In the window, as the other counts.")
    misses = serializers.IntegerField()
    hit_ratio = serializers.FloatField(allow_null=True)
    sets = serializers.IntegerField()
    deletes = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
    saved_ms = serializers.FloatField(help_text="hits x miss_cost_ms.")
    miss_cost_ms = serializers.FloatField(
        allow_null=True, help_text="Measured mean cost of this family's miss path."
    )
    latency_ms = CacheLatencySerializer()
    total_hits = serializers.IntegerField()
    total_misses = serializers.IntegerField()


class CacheOperationSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Calls in the window.")
    p50 = serializers.FloatField(allow_null=True, help_text="Milliseconds.")
    p99 = serializers.FloatField(allow_null=True)


class CacheRedisInfoSerializer(serializers.Serializer):
    keyspace_hits = serializers.IntegerField()
    keyspace_misses = serializers.IntegerField()
    instantaneous_ops_per_sec = serializers.IntegerField()
    used_memory = serializers.IntegerField()
    maxmemory = serializers.IntegerField()
    connected_clients = serializers.IntegerField()
    evicted_keys = serializers.IntegerField()


class CacheSampleSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    backend = serializers.CharField(help_text="redis or locmem.")
    hits = serializers.IntegerField(help_text="Since the counters began, every process.")
    misses = serializers.IntegerField()
    hit_ratio = serializers.FloatField(allow_null=True)
    sets = serializers.IntegerField()
    deletes = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
    window = CacheWindowSerializer()
    ops_per_sec = serializers.FloatField(help_text="Mean over the last 10 complete seconds.")
    latency_ms = CacheLatencySerializer(help_text="Over the window, every operation.")
    keys = serializers.IntegerField()
    memory_bytes = serializers.IntegerField()
    evictions = serializers.IntegerField()
    degraded = serializers.BooleanField(help_text="The sampler's cache server is failing.")
    families = serializers.DictField(
        child=CacheFamilySerializer(), help_text="Per key family (snapshot, stats, throttle...)."
    )
    operations = serializers.DictField(
        child=CacheOperationSerializer(), help_text="Per operation (get, set...), the window."
    )
    redis = CacheRedisInfoSerializer(allow_null=True, help_text="Null when the cache is not Redis.")
    sampler = serializers.CharField(required=False, help_text="host:pid of the publisher.")


class CacheMetricsApi(ApiView):
    permission_classes = [IsAuthenticated, CanSeeCacheMetrics]

    class InputSerializer(serializers.Serializer):
        history = serializers.IntegerField(
            min_value=0,
            max_value=HISTORY_SECONDS,
            default=600,
            help_text=f"Seconds of history (0-{HISTORY_SECONDS}).",
        )
        every = serializers.IntegerField(
            min_value=1,
            max_value=HISTORY_SECONDS,
            default=1,
            help_text="Keep one sample in this many, counted from the newest (the page asks 10).",
        )

    class OutputSerializer(serializers.Serializer):
        current = CacheSampleSerializer()
        history = CacheSampleSerializer(many=True, help_text="One sample a second, oldest first.")

    @extend_schema(
        operation_id="cache_metrics",
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **errors(400, 403)},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(
            cache_metrics_overview(
                history=params.validated_data["history"], every=params.validated_data["every"]
            )
        )
