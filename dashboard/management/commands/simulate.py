import threading

from django.core.management.base import BaseCommand

from dashboard.models import Cohort
from dashboard.simulator import run_simulator


class Command(BaseCommand):
    help = (
        "Keep cohorts alive: progress that follows each cohort's calendar, learners who "
        "fall behind and recover, reviews, reopens, kudos and comments (the model of "
        "dashboard/simulator.py), written through the services."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cohort", type=int, action="append", help="Cohort id (repeatable).")
        parser.add_argument(
            "--interval",
            type=float,
            default=2.0,
            help="Seconds between steps (one change per cohort at most).",
        )
        parser.add_argument("--count", type=int, default=None, help="Stop after N steps.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed.")

    def handle(self, *args, **options):
        cohort_ids = options["cohort"] or list(Cohort.objects.values_list("id", flat=True))
        made = run_simulator(
            cohort_ids=cohort_ids,
            interval=options["interval"],
            stop=threading.Event(),
            seed=options["seed"],
            count=options["count"],
        )
        self.stdout.write(f"{made} changes made.")
