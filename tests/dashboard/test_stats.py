"""The at-risk rule and cohort statistics."""

from datetime import UTC, date, datetime, timedelta

from dashboard.selectors.stats import MilestoneDue, cohort_stats, learner_risk

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
DUES = [
    MilestoneDue("python", "Python", TODAY - timedelta(days=10)),
    MilestoneDue("docker", "Docker", TODAY + timedelta(days=3)),
]


def test_a_learner_who_submitted_everything_due_and_is_active_is_on_track():
    cells = {"python": ("submitted", NOW - timedelta(days=1)), "docker": ("in_progress", NOW)}
    assert learner_risk(cells=cells, milestones=DUES, today=TODAY, now=NOW) == []


def test_an_overdue_milestone_not_submitted_puts_a_learner_at_risk():
    cells = {"python": ("in_progress", NOW), "docker": ("not_started", NOW)}
    reasons = learner_risk(cells=cells, milestones=DUES, today=TODAY, now=NOW)
    assert reasons == [f"Python was due {(TODAY - timedelta(days=10)).isoformat()}"]


def test_a_milestone_due_later_is_not_overdue():
    cells = {"python": ("completed", NOW), "docker": ("not_started", NOW)}
    assert learner_risk(cells=cells, milestones=DUES, today=TODAY, now=NOW) == []


def test_more_than_seven_days_without_progress_puts_a_learner_at_risk():
    stale = NOW - timedelta(days=8)
    cells = {"python": ("completed", stale), "docker": ("in_progress", stale)}
    assert learner_risk(cells=cells, milestones=DUES, today=TODAY, now=NOW) == [
        "no progress for 8 days"
    ]


def test_exactly_seven_days_is_not_yet_inactive():
    week = NOW - timedelta(days=7)
    cells = {"python": ("completed", week), "docker": ("in_progress", week)}
    assert learner_risk(cells=cells, milestones=DUES, today=TODAY, now=NOW) == []


def test_cohort_stats_count_every_status_and_the_completion():
    stats = cohort_stats(
        milestone_slugs=["python", "docker"],
        cells=[
            ("python", "completed"),
            ("python", "submitted"),
            ("docker", "not_started"),
            ("docker", "completed"),
        ],
        learner_count=2,
        at_risk=1,
    )
    assert stats == {
        "completion": 0.5,
        "by_milestone": {
            "python": {"not_started": 0, "in_progress": 0, "submitted": 1, "completed": 1},
            "docker": {"not_started": 1, "in_progress": 0, "submitted": 0, "completed": 1},
        },
        "on_track": 1,
        "at_risk": 1,
    }


def test_an_empty_cohort_has_zero_completion():
    stats = cohort_stats(milestone_slugs=["python"], cells=[], learner_count=0, at_risk=0)
    assert stats["completion"] == 0.0
