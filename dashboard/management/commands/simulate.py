import threading

from django.core.management.base import BaseCommand

from dashboard.models import Cohort
from dashboard.simulator import run_simulator


class Command(BaseCommand):
    help = "Keep cohorts alive with plausible progress, kudos and comments."

    def add_arguments(self, parser):
        parser.add_argument("--cohort", type=int, action="append", help="Cohort id (repeatable).")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between steps.")
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
