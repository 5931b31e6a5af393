"""Shared output serializers. They document the wire shapes of ``realtime.protocol`` for
OpenAPI; views return the selector's plain dicts, and tests check both agree."""

from __future__ import annotations

from rest_framework import serializers

from dashboard.models import Event
from realtime.protocol import HIDDEN_KIND


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=[*Event.Kind.values, HIDDEN_KIND],
        help_text="`hidden`: an event about a peer's risk, as a learner receives it.",
    )
    at = serializers.DateTimeField()
    actor = UserRefSerializer(allow_null=True)
    data = serializers.DictField(help_text="Depends on `kind`; see docs/api.md.")  # type: ignore[assignment]
    kudos = serializers.IntegerField(help_text="Kudos given to this event so far.")
    comments = serializers.IntegerField(help_text="Comments on this event so far.")


class PresenceSerializer(serializers.Serializer):
    user = UserRefSerializer()
    role = serializers.ChoiceField(choices=["staff", "mentor", "learner"])
    since = serializers.DateTimeField()


class ProgressSerializer(serializers.Serializer):
    learner = serializers.IntegerField()
    milestone = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["not_started", "in_progress", "submitted", "completed"]
    )
    score = serializers.IntegerField(allow_null=True, min_value=0, max_value=100)
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class ConflictSerializer(ErrorSerializer):
    current = ProgressSerializer()
