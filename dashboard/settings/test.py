"""Test settings: the base, with fast password hashing and quiet logs.

SQLite tests use a real file (not shared-cache memory) so that concurrent-writer tests
meet the same locking as the server does.
"""

import os
import tempfile

from dashboard.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
SIMULATE = False

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"dashboard-test-{os.getpid()}.sqlite3")
    }
else:
    # A test that leaves a transaction open would make the next flush (TRUNCATE) wait
    # on its locks forever: fail that wait after a minute, with PostgreSQL's message.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c lock_timeout=60000"  # noqa: F405

# With REDIS_URL, keep this run's keys apart from any server using the same Redis, so the
# suite only ever deletes what it wrote (tests/conftest.py clears by this prefix).
TEST_KEY_PREFIX = f"test{os.getpid()}"
CACHES["default"]["KEY_PREFIX"] = TEST_KEY_PREFIX  # noqa: F405
if REDIS_URL:  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"] = {  # noqa: F405
        **CHANNEL_LAYERS["default"]["CONFIG"],  # type: ignore[dict-item]  # noqa: F405
        "prefix": TEST_KEY_PREFIX,
    }
