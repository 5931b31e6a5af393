"""Demo data: the ProDev Backend Engineering program, two cohorts with believable history,
and the four demo logins. All history is written through the services, with the clock
set to when each step happened, so the event log replays to exactly the stored state."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from dashboard import clock
from dashboard.models import Cohort, Membership, Milestone, Program
from dashboard.services.cohorts import learner_add, mentor_add
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add, kudos_add

PROGRAM = ("ProDev Backend Engineering", "prodev-be")

# (slug, title, the week it is expected by), in program order.
MILESTONES = [
    ("python", "Python", 1),
    ("django", "Django", 2),
    ("rest-apis", "REST APIs", 4),
    ("graphql", "GraphQL", 5),
    ("docker", "Docker", 6),
    ("ci-cd", "CI/CD", 7),
    ("celery-cron", "Cron jobs with Celery and Redis", 8),
    ("caching", "Caching", 9),
    ("swagger", "Swagger docs", 10),
    ("deployment", "Deployment", 11),
    ("database-design", "Database design", 12),
    ("async-programming", "Async programming", 13),
    ("capstone", "Capstone", 16),
]

# (name, weeks since start, mentor login); 40 learners each.
COHORTS = [
    ("ProDev BE Cohort 7", 9, "mentor"),
    ("ProDev BE Cohort 8", 4, "mentor2"),
]
LEARNERS_PER_COHORT = 40

FIRST = [
    "Amina",
    "Kwame",
    "Lerato",
    "Tariq",
    "Chidi",
    "Zanele",
    "Yusuf",
    "Nia",
    "Tendai",
    "Fatima",
    "Kofi",
    "Ayesha",
    "Sipho",
    "Mariam",
    "Obinna",
    "Wanjiru",
    "Ibrahim",
    "Thandiwe",
    "Emeka",
    "Halima",
    "Jabari",
    "Noura",
    "Kamau",
    "Zainab",
    "Bongani",
    "Adaeze",
    "Musa",
    "Imani",
    "Olumide",
    "Salma",
    "Tunde",
    "Esi",
    "Farouk",
    "Nomsa",
    "Chinedu",
    "Ama",
    "Bilal",
    "Lindiwe",
    "Femi",
    "Rahma",
    "Kagiso",
    "Ngozi",
    "Hassan",
    "Akosua",
    "Themba",
]
LAST = [
    "Okafor",
    "Mensah",
    "Dlamini",
    "Haddad",
    "Nwosu",
    "Ndlovu",
    "Bello",
    "Achieng",
    "Moyo",
    "Abdullahi",
    "Owusu",
    "Kariuki",
    "Mahlangu",
    "Adeyemi",
    "Traore",
    "Banda",
    "Osei",
    "Diallo",
    "Mutua",
    "Okonkwo",
    "Sithole",
    "Kamara",
    "Asante",
    "Nkosi",
    "Eze",
]
COMMENTS = [
    "Great work, the tests read like documentation.",
    "Nice! Watch the N+1 queries in the list view.",
    "Solid submission. Consider adding an index on the lookup column.",
    "Clean Dockerfile, the multi-stage build is spot on.",
    "Well done. The README made it easy to run.",
    "Good job, let's pair on the caching strategy next week.",
    "Congrats on shipping this one!",
]

# (login, first name, last name, staff); the password is the login.
DEMO_LOGINS = [
    ("admin", "Pat", "Okoro", True),
    ("mentor", "Nadia", "Bello", False),
    ("mentor2", "Samuel", "Otieno", False),
    ("learner", "", "", False),
]


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    kind: str = field(compare=False)
    args: dict = field(compare=False, default_factory=dict)


def _user(
    username: str,
    *,
    first: str = "",
    last: str = "",
    staff: bool = False,
    password: str | None = None,
) -> User:
    """Return the user ``username``, creating it with ``password`` (None: unusable).

    An existing user keeps its password: setting it again would change the hash (a new
    salt) and with it every session and token signed for the old one, so each restart of
    ``make run`` (which seeds) would sign everybody out.
    """
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first, "last_name": last}
    )
    if not created:
        if (user.is_staff, user.is_superuser) != (staff, staff):
            user.is_staff = user.is_superuser = staff
            user.save(update_fields=["is_staff", "is_superuser"])
        return user
    user.is_staff = staff
    user.is_superuser = staff
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def seed_demo(*, stdout=None) -> bool:
    """Create the demo data unless it exists; return True when it was created."""
    if Program.objects.filter(slug=PROGRAM[1]).exists():
        _ensure_logins()
        return False
    with transaction.atomic():
        program = Program.objects.create(name=PROGRAM[0], slug=PROGRAM[1])
        Milestone.objects.bulk_create(
            Milestone(program=program, slug=slug, title=title, order=i, week=week)
            for i, (slug, title, week) in enumerate(MILESTONES, start=1)
        )
        logins = _ensure_logins()
        today = timezone.localdate()
        cohorts = []
        for name, weeks_in, _mentor in COHORTS:
            start = today - timedelta(weeks=weeks_in)
            cohorts.append(
                Cohort.objects.create(
                    program=program,
                    name=name,
                    start_date=start,
                    end_date=start + timedelta(weeks=16),
                )
            )
    rng = random.Random(7)
    names = [(f, la) for f in FIRST for la in LAST]
    rng.shuffle(names)
    for index, (cohort, (_, _, mentor_login)) in enumerate(zip(cohorts, COHORTS, strict=True)):
        mentor = logins[mentor_login]
        mentor_add(cohort=cohort, user=mentor)
        chosen = names[index * LEARNERS_PER_COHORT : (index + 1) * LEARNERS_PER_COHORT]
        learners = []
        for position, (first, last) in enumerate(chosen):
            if index == 0 and position == 0:
                user = logins["learner"]
                user.first_name, user.last_name = first, last
                user.save(update_fields=["first_name", "last_name"])
            else:
                user = _user(f"{first}.{last}".lower(), first=first, last=last)
            learners.append(user)
        _write_history(cohort=cohort, mentor=mentor, learners=learners, rng=rng)
        if stdout:
            stdout.write(
                f"  {cohort.name}: {len(learners)} learners, {cohort.events.count()} events"
            )
    return True


def _ensure_logins() -> dict[str, User]:
    logins = {}
    for name, first, last, staff in DEMO_LOGINS:
        user = _user(name, staff=staff, password=name)
        if first and not user.first_name:
            user.first_name, user.last_name = first, last
            user.save(update_fields=["first_name", "last_name"])
        logins[name] = user
    return logins


def _write_history(
    *,
    cohort: Cohort,
    mentor: User,
    learners: list[User],
    rng: random.Random,
) -> None:
    now = timezone.now() - timedelta(minutes=5)
    start = datetime.combine(cohort.start_date, time(8, 0), tzinfo=UTC)
    steps: list[_Step] = []
    counter = iter(range(1_000_000))
    for learner in learners:
        joined = start - timedelta(hours=rng.uniform(1, 72))
        steps.append(_Step(joined, next(counter), "join", {"user": learner}))
        pace = min(1.5, max(0.5, rng.gauss(1.15, 0.2)))
        stalled_at = now - timedelta(days=rng.uniform(8, 20)) if rng.random() < 0.12 else now
        t = start + timedelta(hours=rng.uniform(2, 30))
        previous_week = 0
        for slug, _title, week in MILESTONES:
            span = timedelta(days=(week - previous_week) * 7 / pace)
            previous_week = week
            started = t + timedelta(hours=rng.uniform(1, 20))
            submitted = started + span * rng.uniform(0.6, 0.95)
            completed = submitted + timedelta(hours=rng.uniform(4, 60))
            plan: list[tuple[datetime, str, User, int | None]] = [
                (started, "in_progress", learner, None),
                (submitted, "submitted", learner, None),
            ]
            if rng.random() < 0.12:  # sent back for changes, then resubmitted
                back = submitted + timedelta(hours=rng.uniform(4, 30))
                again = back + timedelta(hours=rng.uniform(6, 48))
                plan += [(back, "in_progress", mentor, None), (again, "submitted", learner, None)]
                completed = again + timedelta(hours=rng.uniform(4, 40))
            score = int(min(100, max(55, rng.gauss(84, 9))))
            plan.append((completed, "completed", mentor, score))
            for at, status, actor, sc in plan:
                if at >= stalled_at:
                    break
                ref = next(counter)
                steps.append(
                    _Step(
                        at,
                        ref,
                        "progress",
                        {
                            "learner": learner,
                            "slug": slug,
                            "status": status,
                            "actor": actor,
                            "score": sc,
                        },
                    )
                )
                if status == "completed" and rng.random() < 0.35:
                    steps.append(
                        _Step(
                            at + timedelta(hours=rng.uniform(0.2, 6)),
                            next(counter),
                            "kudos",
                            {"ref": ref, "actor": rng.choice([mentor, *learners])},
                        )
                    )
                if status == "completed" and rng.random() < 0.12:
                    steps.append(
                        _Step(
                            at + timedelta(hours=rng.uniform(0.2, 8)),
                            next(counter),
                            "comment",
                            {"ref": ref, "actor": mentor, "text": rng.choice(COMMENTS)},
                        )
                    )
            else:
                t = completed
                continue
            break
    steps = sorted(s for s in steps if s.at < now)
    memberships: dict[int, Membership] = {}
    versions: dict[tuple[int, str], int] = {}
    seq_of: dict[int, int] = {}
    for step in steps:
        with clock.travel(step.at):
            if step.kind == "join":
                memberships[step.args["user"].pk] = learner_add(
                    actor=mentor, cohort=cohort, user=step.args["user"]
                )
            elif step.kind == "progress":
                member = memberships[step.args["learner"].pk]
                key = (member.pk, step.args["slug"])
                extra = {"score": step.args["score"]} if step.args["status"] == "completed" else {}
                change = progress_update(
                    actor=step.args["actor"],
                    cohort_id=cohort.pk,
                    learner_id=member.pk,
                    milestone_slug=step.args["slug"],
                    version=versions.get(key, 1),
                    status=step.args["status"],
                    **extra,
                )
                versions[key] = change.progress.version
                if change.seq is not None:
                    seq_of[step.order] = change.seq
            elif step.args["ref"] in seq_of:
                target = seq_of[step.args["ref"]]
                if step.kind == "kudos":
                    kudos_add(actor=step.args["actor"], cohort_id=cohort.pk, seq=target)
                else:
                    comment_add(
                        actor=step.args["actor"],
                        cohort_id=cohort.pk,
                        seq=target,
                        text=step.args["text"],
                    )
