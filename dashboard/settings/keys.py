"""Signing keys: refuse a known or weak one with DEBUG off, keep a random one for local use.

A key that anyone can read (the old embedded default, ``.env.example``'s placeholder, a
short one) lets anyone sign a session or a JWT as any user. Django's ``check --deploy``
only warns about it; here the process refuses to start.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

# Public values: the embedded default of earlier versions and the placeholders of
# .env.example and the docs. Lower-cased.
KNOWN_KEYS = frozenset(
    {
        "insecure-embedded-default-key-only-for-local-development",
        "change-me-to-50-random-characters",
        "change-me",
        "changeme",
        "secret",
        "collectstatic-only-not-a-secret",
    }
)
# Django's own bar (django.core.checks.security.base: W009).
MIN_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5


def key_problem(key: str) -> str | None:
    """Return why ``key`` must not sign anything in production, or None if it may."""
    if key.strip().lower() in KNOWN_KEYS or key.lower().startswith(
        ("change-me", "django-insecure")
    ):
        return "is a published placeholder or default"
    if len(key) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    if len(set(key)) < MIN_UNIQUE_CHARACTERS:
        return f"has fewer than {MIN_UNIQUE_CHARACTERS} different characters"
    return None


def require_strong_key(name: str, key: str) -> None:
    """Fail at start-up when ``key`` (the variable ``name``) is known or weak."""
    problem = key_problem(key)
    if problem:
        raise ImproperlyConfigured(
            f"{name} {problem}: set 50+ random characters, e.g. "
            '`python -c "import secrets; print(secrets.token_urlsafe(50))"`.'
        )


def local_key(path: Path) -> str:
    """Return the key kept in ``path``, creating it with a random key the first time.

    Written to a temporary file and linked into place, so processes starting together
    (a test run's servers) all read the one complete key.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(get_random_secret_key() + "\n")
        os.chmod(tmp, 0o600)
        # Another process may have won the race: then its key is the one.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_text().strip()
