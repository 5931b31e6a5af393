"""Admin for programs, milestones, cohorts, memberships and progress.

Changes that the dashboard shows go through the services, so they append their event
like any other write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from dashboard.errors import DomainError
from dashboard.models import Cohort, Event, Membership, Milestone, Program, Progress
from dashboard.services.cohorts import cohort_update, learner_add, mentor_add
from dashboard.services.progress import progress_update


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MilestoneInline]


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ["title", "program", "order", "week", "slug"]
    list_filter = ["program"]


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["name", "program", "start_date", "end_date", "head_seq"]
    readonly_fields = ["head_seq"]

    def save_model(self, request: HttpRequest, obj: Cohort, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        cohort_update(
            actor=request.user,  # type: ignore[arg-type]
            cohort=obj,
            name=obj.name,
            start_date=obj.start_date,
            end_date=obj.end_date,
        )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "cohort", "role", "joined_at"]
    list_filter = ["cohort", "role"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    raw_id_fields = ["user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["user", "cohort", "role"] if obj else []

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if change:
            return
        if obj.role == Membership.Role.LEARNER:
            saved = learner_add(actor=request.user, cohort=obj.cohort, user=obj.user)  # type: ignore[arg-type]
        else:
            saved = mentor_add(cohort=obj.cohort, user=obj.user)
        obj.pk = saved.pk


class ProgressAdminForm(forms.ModelForm):
    """Check the change with the service itself (in a savepoint that is rolled back), so a
    refused transition or score is a form error, not a server error."""

    actor: Any = None

    class Meta:
        model = Progress
        fields = ["status", "score"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors or self.instance.pk is None:
            return cleaned
        try:
            with transaction.atomic():
                progress_update(
                    actor=self.actor,
                    cohort_id=self.instance.cohort_id,
                    learner_id=self.instance.learner_id,
                    milestone_slug=self.instance.milestone.slug,
                    version=Progress.objects.get(pk=self.instance.pk).version,
                    status=cleaned.get("status"),
                    score=cleaned.get("score"),
                )
                raise _DryRun
        except _DryRun:
            pass
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned


class _DryRun(Exception):
    """Roll the validation savepoint back."""


@admin.register(Progress)
class ProgressAdmin(admin.ModelAdmin):
    form = ProgressAdminForm

    list_display = ["learner", "milestone", "status", "score", "version", "updated_at"]
    list_filter = ["cohort", "status", "milestone"]
    readonly_fields = ["learner", "milestone", "cohort", "version", "updated_at", "completed_at"]
    fields = [
        "learner",
        "milestone",
        "cohort",
        "status",
        "score",
        "version",
        "updated_at",
        "completed_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # type: ignore[attr-defined]
        return form

    def save_model(self, request: HttpRequest, obj: Progress, form: Any, change: bool) -> None:
        progress_update(
            actor=request.user,  # type: ignore[arg-type]
            cohort_id=obj.cohort_id,
            learner_id=obj.learner_id,
            milestone_slug=obj.milestone.slug,
            version=obj.version,
            status=obj.status,
            score=obj.score,
        )


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["cohort", "seq", "kind", "actor", "created_at", "kudos_count", "comment_count"]
    list_filter = ["cohort", "kind"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
