"""The domain: programs of milestones, cohorts of members, progress, and each cohort's event log.

Models hold data and constraints only; every write goes through ``dashboard.services``.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models


class Program(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    def __str__(self) -> str:
        return self.name


class Milestone(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="milestones")
    slug = models.SlugField(max_length=60)
    title = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField()
    week = models.PositiveSmallIntegerField(help_text="The program week it is expected by.")

    class Meta:
        ordering = ["program", "order"]
        constraints = [
            models.UniqueConstraint(fields=["program", "slug"], name="milestone_unique_slug"),
            models.UniqueConstraint(fields=["program", "order"], name="milestone_unique_order"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.title}"


class Cohort(models.Model):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(max_length=120)
    start_date = models.DateField()
    end_date = models.DateField()
    # The head of the event log: the seq of the newest event. Incremented under the row
    # lock by ``event_append``, which serialises seq allocation per cohort.
    head_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="cohort_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def due_date(self, week: int) -> date:
        """Return the last day of program week ``week`` (week 1 ends 7 days after the start)."""
        return self.start_date + timedelta(days=7 * week - 1)


class Membership(models.Model):
    class Role(models.TextChoices):
        LEARNER = "learner", "Learner"
        MENTOR = "mentor", "Mentor"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "cohort"], name="membership_unique_user"),
        ]
        indexes = [models.Index(fields=["cohort", "role"], name="membership_cohort_role")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role} of {self.cohort_id})"


class Progress(models.Model):
    """One learner's state on one milestone. ``version`` bumps on every accepted change."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        COMPLETED = "completed", "Completed"

    learner = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="progress")
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="+")
    # Denormalised from learner.cohort so the snapshot reads a cohort's grid in one query.
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="progress_cells")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_STARTED)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "progress"
        constraints = [
            models.UniqueConstraint(fields=["learner", "milestone"], name="progress_unique_cell"),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__lte=100),
                name="progress_score_range",
            ),
        ]
        indexes = [models.Index(fields=["cohort"], name="progress_cohort")]

    def __str__(self) -> str:
        return f"{self.learner_id}/{self.milestone_id}: {self.status}"


class Event(models.Model):
    """The append-only, per-cohort log. ``seq`` is 1, 2, 3... per cohort with no gap."""

    class Kind(models.TextChoices):
        PROGRESS_UPDATED = "progress.updated"
        KUDOS_ADDED = "kudos.added"
        COMMENT_ADDED = "comment.added"
        LEARNER_ADDED = "learner.added"
        COHORT_UPDATED = "cohort.updated"
        # Appended by the periodic jobs (dashboard/jobs.py), never by a user.
        LEARNER_AT_RISK = "learner.at_risk"
        LEARNER_ON_TRACK = "learner.on_track"
        REPORT_DAILY = "report.daily"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=40, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict)
    # The learner the event is about (its own, or the reacted-to event's), so a learner's
    # timeline and a cell's history are one indexed read instead of a scan of ``data``.
    # Set by ``event_append``; null for cohort-wide events. Not a foreign key: the log
    # outlives memberships, and the column only narrows reads that check membership anyway.
    learner_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField()
    kudos_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["cohort", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "seq"], name="event_unique_seq"),
        ]
        indexes = [
            models.Index(
                fields=["cohort", "learner_id", "seq"],
                name="event_learner_seq",
                condition=models.Q(learner_id__isnull=False),
            ),
            # The alert job looks for recent at-risk marks across cohorts.
            models.Index(fields=["kind", "created_at"], name="event_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.cohort_id}#{self.seq} {self.kind}"


class Kudos(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="kudos")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "kudos"
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="kudos_once_per_person"),
        ]

    def __str__(self) -> str:
        return f"kudos by {self.user_id} on {self.event_id}"


class Comment(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["event", "id"], name="comment_event")]

    def __str__(self) -> str:
        return self.text[:60]


class NotificationPreference(models.Model):
    """A user's choice of emails; no row means the defaults (both on)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    at_risk_email = models.BooleanField(default=True)
    daily_digest = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"notifications of {self.user_id}"


class AlertSent(models.Model):
    """One email sent: the unique constraint is what makes each alert go out at most once,
    whatever the retries and however many schedulers run the job."""

    class Kind(models.TextChoices):
        AT_RISK = "at_risk"
        DIGEST = "digest"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # What the email is about: the at-risk event's seq, or the digest's ISO date.
    ref = models.CharField(max_length=40)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "cohort", "kind", "ref"], name="alert_sent_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ref} to {self.user_id}"
