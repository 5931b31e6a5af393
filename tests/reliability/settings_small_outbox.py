"""The base settings with a small per-socket outbox, so a stuck client reaches the bound
in seconds instead of minutes (the bound's behaviour, not its size, is under test)."""

from dashboard.settings.base import *  # noqa: F403

WS_SEND_QUEUE = 50
