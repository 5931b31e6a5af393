"""``manage.py metrics_pump``: the cache metrics sampler as its own process.

Run one or several (they elect one publisher through a lease in Redis). Needs
``REDIS_URL``: in the embedded default the sampler runs inside the server process.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.cache_metrics.sampler import LOCK_TTL, default_sampler


class Command(BaseCommand):
    help = "Sample the cache metrics once a second and publish them to metrics:cache."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds per sample.")
        parser.add_argument(
            "--lock-ttl",
            type=float,
            default=LOCK_TTL,
            help="Seconds before a silent publisher is replaced.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError(
                "metrics_pump needs REDIS_URL: without Redis the counters live in the server "
                "process, whose own sampler publishes them."
            )
        if not 0.1 <= options["interval"] <= 60 or options["lock_ttl"] <= options["interval"]:
            raise CommandError("Need 0.1 <= --interval <= 60 and --lock-ttl > --interval.")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        sampler = default_sampler(interval=options["interval"], lock_ttl=options["lock_ttl"])
        self.stdout.write(f"metrics_pump {sampler.name}: sampling every {sampler.interval}s")
        sampler.run(stop)
