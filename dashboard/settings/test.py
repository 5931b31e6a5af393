"""Test settings: the base, with fast password hashing and quiet logs."""

from dashboard.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
SIMULATE = False
