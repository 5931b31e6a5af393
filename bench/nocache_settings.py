"""The embedded default with a cache that never holds anything: the "uncached" baseline of
bench/snapshot_cache.py. Same code path (the instrumented wrapper, the version lookups),
but every read misses and every write is dropped (Django's DummyCache inside)."""

from dashboard.settings.base import *  # noqa: F403
from dashboard.settings.base import CACHES

CACHES = {
    "default": {
        **CACHES["default"],
        "OPTIONS": {
            "INNER_BACKEND": "django.core.cache.backends.dummy.DummyCache",
            "INNER_OPTIONS": {},
        },
    }
}
