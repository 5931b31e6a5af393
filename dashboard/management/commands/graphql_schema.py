"""Write the GraphQL schema's SDL to ``schema.graphql`` (``make graphql-schema``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from dashboard.graphql.schema import schema


def schema_sdl() -> str:
    """Return the SDL the server prints, as kept in the repository."""
    return schema.as_str() + "\n"


class Command(BaseCommand):
    help = "Export the GraphQL schema (SDL) to schema.graphql at the repository root."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "schema.graphql"))

    def handle(self, *args: Any, **options: Any) -> None:
        Path(options["output"]).write_text(schema_sdl(), encoding="utf-8")
        self.stdout.write(f"wrote {options['output']}")
