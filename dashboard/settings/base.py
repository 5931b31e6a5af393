"""Embedded-default settings: SQLite, in-memory channel layer, local-memory cache.

``DATABASE_URL`` switches to PostgreSQL and ``REDIS_URL`` to Redis for the cache, the
channel layer and presence. Every environment variable is read here, through ``env``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from dashboard.settings.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("SECRET_KEY", "insecure-embedded-default-key-only-for-local-development")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "channels",
    "dashboard",
    "realtime",
]

MIDDLEWARE = [
    # First, so every response (redirects included) and every log line has the id.
    "dashboard.logging.RequestIdMiddleware",
    # JSON answers gzipped (not HTML pages: they carry CSRF tokens, see compression.py).
    "dashboard.compression.JsonGzipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --------------------------------------------------------------------------------------
# Database
# --------------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            # Django's, with one process's writers queued on a lock (dashboard/db/sqlite3).
            "ENGINE": "dashboard.db.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the
                # busy timeout instead of deadlocking on a read-to-write lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }

# Connections are kept by the threads that use them (the HTTP handler's kept threads,
# the WebSocket consumers' ORM thread): a new SQLite connection costs 1-2 ms, a new
# PostgreSQL one more. Checked before reuse, so a dropped connection is replaced.
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Threads kept for HTTP requests (dashboard/http.py); a burst beyond gets extra ones.
HTTP_THREADS = env_int("HTTP_THREADS", 8)
# How often the server process hands the GIL between threads, in seconds (Python's
# default is 0.005); see dashboard/asgi.py.
GIL_SWITCH_INTERVAL = float(env_str("GIL_SWITCH_INTERVAL", "0.0005"))
# A garbage collection pass this long (ms) is logged as a warning (dashboard/gcwatch.py).
GC_PAUSE_LOG_MS = float(env_str("GC_PAUSE_LOG_MS", "50"))
# Freeze sockets' objects step by step as they open, so full collections skip them; then
# run the young passes once a second on the hub's loop and a full one every 5 minutes;
# thaw, collect and refreeze once a quarter have closed (dashboard/gcwatch.HeapPolicy).
HEAP_FREEZE = env_bool("HEAP_FREEZE", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --------------------------------------------------------------------------------------
# Redis: cache, channel layer, presence
# --------------------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL", "")

if REDIS_URL:
    CACHES = {
        "default": {
            # Instrumented (hits, misses, latency per key family) and degrading to misses
            # when Redis is down; see dashboard/cache_metrics.py and docs/cache.md.
            "BACKEND": "dashboard.cache_metrics.InstrumentedCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dash",
            "TIMEOUT": 300,
            "OPTIONS": {
                "INNER_BACKEND": "django.core.cache.backends.redis.RedisCache",
                # Short timeouts: a dead Redis must cost a request milliseconds, not seconds.
                "INNER_OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
            },
        }
    }
    # The pub/sub layer measured faster behind the realtime hub (docs/performance.md);
    # REALTIME_CHANNEL_LAYER=core selects channels_redis' list-based layer to compare.
    REALTIME_CHANNEL_LAYER = env_str("REALTIME_CHANNEL_LAYER", "pubsub")
    if REALTIME_CHANNEL_LAYER == "core":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": "dash", "capacity": 10000},
            }
        }
    elif REALTIME_CHANNEL_LAYER == "pubsub":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": "dash"},
            }
        }
    else:
        raise ImproperlyConfigured("REALTIME_CHANNEL_LAYER must be pubsub or core.")
else:
    CACHES = {
        "default": {
            "BACKEND": "dashboard.cache_metrics.InstrumentedCache",
            "LOCATION": "dashboard",
            "TIMEOUT": 300,
            "OPTIONS": {
                "INNER_BACKEND": "dashboard.cache_metrics.CountingLocMemCache",
                "INNER_OPTIONS": {"MAX_ENTRIES": 5000},
            },
        }
    }
    # One process channel per server (the realtime hub) takes every event: room for bursts.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10000},
        }
    }

# The cache metrics sampler runs inside the server process by default only in the embedded
# default; with Redis it is its own service (``manage.py metrics_pump``). Either way one
# sampler at a time publishes (a lease in Redis).
METRICS_SAMPLER_IN_PROCESS = env_bool("METRICS_SAMPLER_IN_PROCESS", not REDIS_URL)

# --------------------------------------------------------------------------------------
# Auth, REST, OpenAPI
# --------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# "off" disables write throttling (load tests); otherwise a DRF rate such as "120/min".
WRITE_THROTTLE = env_str("WRITE_THROTTLE", "120/min").strip().lower()

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: its WWW-Authenticate header turns "not authenticated" into a 401.
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["dashboard.apis.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "dashboard.apis.schema.AutoSchema",
    "EXCEPTION_HANDLER": "dashboard.apis.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY", "") or SECRET_KEY,
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Live cohort dashboard API",
    "DESCRIPTION": "REST contract v1. The WebSocket protocol is documented in docs/realtime.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH bodies here are not partial updates: `version` is always required.
    "COMPONENT_SPLIT_PATCH": False,
    "SCHEMA_PATH_PREFIX": r"/api/",
}

# Bodies larger than this are refused with 413 before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

# --------------------------------------------------------------------------------------
# Realtime and the in-process helpers of the embedded default
# --------------------------------------------------------------------------------------

# Run the demo simulator inside the server process (embedded default only).
SIMULATE = env_bool("SIMULATE", False)
SIMULATE_INTERVAL = float(env_str("SIMULATE_INTERVAL", "2.0"))

# The WebSocket protocol (docs/realtime.md). Times in seconds; tests shorten them.
WS_MAX_FRAME_BYTES = 64 * 1024  # a bigger client frame closes the socket with 1009
WS_AUTH_TIMEOUT = 10.0  # unauthenticated for this long: close 4401
WS_IDLE_TIMEOUT = 60.0  # nothing received for this long: close 1001
WS_RATE_PER_SECOND = 30  # client frames a second, sustained (over it: close 1008)
WS_RATE_BURST = 60  # frames allowed in a burst above the sustained rate
WS_MAX_TOPICS = 50
WS_SEND_QUEUE = 1000  # frames queued for one socket; a client that falls behind: close 4408
# Fan-outs write to sockets in one C call with the GIL released (realtime/_sendmany.c);
# off: one transport write per socket, as without the compiled extension.
WS_NATIVE_SEND = env_bool("WS_NATIVE_SEND", True)
WS_REPLAY_MAX = 1000  # more events to replay than this: recovered false
WS_SWEEP_INTERVAL = 1.0  # how often idle and unauthenticated sockets are looked for
REALTIME_PUBLISH_TIMEOUT = 2.0  # a publish from outside the server's event loop gives up after
REALTIME_HEALTH_INTERVAL = 2.0  # how often a Redis channel layer is probed
REALTIME_HEALTH_TIMEOUT = 3.0  # a probe lost for this long: the layer is down, close 1012
# Presence: in Redis with REDIS_URL (heartbeats, expiry), else in memory.
PRESENCE_REDIS_URL = REDIS_URL
PRESENCE_PREFIX = "dash:presence"
PRESENCE_TTL = float(env_str("PRESENCE_TTL", "15"))  # a process silent this long has left
PRESENCE_HEARTBEAT = float(env_str("PRESENCE_HEARTBEAT", "5"))
PRESENCE_SWEEP = float(env_str("PRESENCE_SWEEP", "5"))

# --------------------------------------------------------------------------------------
# Periodic jobs (dashboard/jobs.py) and Celery
# --------------------------------------------------------------------------------------

# Where the periodic jobs run: "inprocess" (a thread of each server process, no broker
# needed), "celery" (beat and a worker on the Redis broker) or "off". The embedded default
# runs them in-process with the simulator (``make run``); a server started with
# SIMULATE=0 (tests, benchmarks) stays quiet: nothing writes to the feed but its clients.
PERIODIC_JOBS = env_str("PERIODIC_JOBS", "inprocess" if SIMULATE else "off").strip().lower()
if PERIODIC_JOBS not in {"inprocess", "celery", "off"}:
    raise ImproperlyConfigured(
        f"PERIODIC_JOBS must be inprocess, celery or off, not {PERIODIC_JOBS!r}."
    )
PERIODIC_INTERVAL = env_int("PERIODIC_INTERVAL", 60)

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# The jobs are idempotent, so a task lost with its worker is simply run again.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --------------------------------------------------------------------------------------
# I18n, static files, logging
# --------------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [("app", BASE_DIR / "frontend")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# "plain" for people, "json" (one JSON object per line, with the request id) for machines.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower()
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "dashboard.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "dashboard.logging.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
