from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo program, two cohorts with history, and the demo logins (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing to seed demo logins with DEBUG off; pass --force.")
        created = seed_demo(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS("Demo data created.") if created else "Demo data already present."
        )
