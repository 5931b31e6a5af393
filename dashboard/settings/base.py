"""Embedded-default settings: SQLite, in-memory channel layer, local-memory cache.

``DATABASE_URL`` switches to PostgreSQL and ``REDIS_URL`` to Redis for the cache, the
channel layer and presence. Every environment variable is read here, through ``env``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from dashboard import redis_clients
from dashboard.settings.env import env_bool, env_choice, env_int, env_list, env_str
from dashboard.settings.keys import local_key, require_strong_key

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DEBUG", True)
# Without SECRET_KEY (``make run``): a random key made once into a git-ignored file, so
# no two installs share one and no published key signs anything (docs/security.md).
SECRET_KEY = env_str("SECRET_KEY", "") or local_key(
    Path(env_str("SECRET_KEY_FILE", str(BASE_DIR / ".secret_key")))
)
if not DEBUG:
    require_strong_key("SECRET_KEY", SECRET_KEY)
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
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "channels",
    "dashboard",
    "realtime",
]

MIDDLEWARE = [
    # First, so every response (redirects included) and every log line has the id.
    "dashboard.logging.RequestIdMiddleware",
    # Counts and times every request, static files and redirects too (GET /metrics).
    "dashboard.prometheus.PrometheusMiddleware",
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
    "csp.middleware.CSPMiddleware",
    # After django-csp, so its response passes here first: Cache-Control and Vary of API
    # answers, the WebSocket's connect-src (docs/security.md).
    "dashboard.middleware.SecurityHeadersMiddleware",
    # Last: turns a login that django-axes refused into its lockout page.
    "axes.middleware.AxesMiddleware",
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
# default is 0.005); set at start-up by realtime/runtime.py.
GIL_SWITCH_INTERVAL = float(env_str("GIL_SWITCH_INTERVAL", "0.0005"))
# A garbage collection pass this long (ms) is logged as a warning (realtime/runtime.py).
GC_PAUSE_LOG_MS = float(env_str("GC_PAUSE_LOG_MS", "50"))
# Freeze sockets' objects step by step as they open, so full collections skip them; then
# run the young passes once a second on the hub's loop and a full one every 5 minutes;
# thaw, collect and refreeze once a quarter have closed (realtime/runtime.HeapPolicy).
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
            # when Redis is down; see dashboard/cache_metrics/ and docs/cache.md.
            "BACKEND": "dashboard.cache_metrics.InstrumentedCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dash",
            "TIMEOUT": 300,
            "OPTIONS": {
                "INNER_BACKEND": "django.core.cache.backends.redis.RedisCache",
                # The process's one pool, with the request path's short timeouts: a dead
                # Redis costs a request milliseconds, and a request no new connection.
                "INNER_OPTIONS": redis_clients.cache_options(),
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
                "CONFIG": {
                    "hosts": [redis_clients.channel_layer_host(REDIS_URL)],
                    "prefix": "dash",
                    "capacity": 10000,
                },
            }
        }
    elif REALTIME_CHANNEL_LAYER == "pubsub":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {
                    "hosts": [redis_clients.channel_layer_host(REDIS_URL)],
                    "prefix": "dash",
                },
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
    # Not a rule: the hook that revokes a user's API tokens when the password changes.
    {"NAME": "dashboard.services.tokens.RevokeTokensOnPasswordChange"},
]
# django-axes first: a locked-out user name + address is refused before any password check.
AUTHENTICATION_BACKENDS = [
    "dashboard.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# How many proxies in front of the server add themselves to X-Forwarded-For: 0 when
# served directly (the header is then the client's own word and is ignored), 1 behind
# the compose nginx. The login throttle and the lockout key on the address this gives.
NUM_PROXIES = env_int("NUM_PROXIES", 0)

# "off" disables write throttling (load tests); otherwise a DRF rate such as "120/min".
WRITE_THROTTLE = env_str("WRITE_THROTTLE", "120/min").strip().lower()

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: its WWW-Authenticate header turns "not authenticated" into a 401.
        "dashboard.apis.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["dashboard.apis.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "dashboard.apis.schema.AutoSchema",
    "EXCEPTION_HANDLER": "dashboard.apis.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": NUM_PROXIES,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY", "") or SECRET_KEY,
    "UPDATE_LAST_LOGIN": False,
    # A refresh token works once: refreshing returns a new one and blacklists the old
    # (token_blacklist), so a stolen one stops working at the owner's next refresh.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens carry a hash of the password hash: a password change refuses every token
    # issued before it, access tokens included (dashboard/services/tokens.py).
    "CHECK_REVOKE_TOKEN": True,
}
if not DEBUG:
    require_strong_key("JWT_SIGNING_KEY", str(SIMPLE_JWT["SIGNING_KEY"]))

# --------------------------------------------------------------------------------------
# Login lockout (django-axes): by user name and address, after repeated failures
# --------------------------------------------------------------------------------------

AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
# Locked for this long, or until staff unlock (admin, or ``manage.py axes_reset_username``);
# 0: until staff unlock.
_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=_LOCKOUT_MINUTES) if _LOCKOUT_MINUTES > 0 else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The same client address as the login throttle (NUM_PROXIES), not django-ipware's guess.
AXES_CLIENT_IP_CALLABLE = "dashboard.apis.throttling.client_ip"
# Failures are recorded; successful logins are not (that table would grow without end).
AXES_DISABLE_ACCESS_LOG = True

# --------------------------------------------------------------------------------------
# Content-Security-Policy (django-csp); views widen it with csp_update (docs/security.md)
# --------------------------------------------------------------------------------------

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # 'self' covers ws:/wss: of the page's own origin in CSP 3 browsers; the
        # middleware adds them by name per request for the others.
        "connect-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --------------------------------------------------------------------------------------
# OpenAPI schema and Swagger UI
# --------------------------------------------------------------------------------------


# Who may read /api/schema/ and /api/docs/: public, authenticated (any logged-in user or
# token holder) or off (404). Production defaults to authenticated.
API_DOCS = env_choice("API_DOCS", "public", ("public", "authenticated", "off"))

SPECTACULAR_SETTINGS = {
    "TITLE": "Live cohort dashboard API",
    "DESCRIPTION": "REST contract v1. The WebSocket protocol is documented in docs/realtime.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH bodies here are not partial updates: `version` is always required.
    "COMPONENT_SPLIT_PATCH": False,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Swagger UI's files come from the app (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["dashboard.apis.schema.DocsAccess"],
}

# GET /metrics (dashboard/prometheus.py): open with DEBUG on; otherwise for a bearer token
# or the listed addresses/networks, and refused to everyone when neither is set.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])

# Bodies larger than this are refused with 413 before they are read: on Content-Length,
# or counted as a chunked body arrives (dashboard/http.py).
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
# A socket's replay budget, in events: a burst, refilled at a rate a second. A subscribe
# whose replay would overdraw it gets recovered false (the client loads a snapshot).
WS_REPLAY_BUDGET = env_int("WS_REPLAY_BUDGET", 1000)
WS_REPLAY_RATE = float(env_str("WS_REPLAY_RATE", "20"))
# Subscribes a second on one socket, sustained, and in a burst (over it: a rate_limited error).
WS_SUBSCRIBE_RATE = float(env_str("WS_SUBSCRIBE_RATE", "2"))
WS_SUBSCRIBE_BURST = float(env_str("WS_SUBSCRIBE_BURST", "10"))
# Authenticated sockets of one user in one server process (0: no cap); more: close 1008.
WS_MAX_SOCKETS_PER_USER = env_int("WS_MAX_SOCKETS_PER_USER", 30)
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

# --------------------------------------------------------------------------------------
# Email: the mentors' alerts (docs/alerts.md)
# --------------------------------------------------------------------------------------

# The console backend (emails printed to the server's output) unless SMTP is configured:
# EMAIL_URL=smtp://user:password@host:587 (STARTTLS; smtps://...:465 for TLS), or the
# EMAIL_HOST / EMAIL_PORT / EMAIL_HOST_USER / EMAIL_HOST_PASSWORD / EMAIL_USE_TLS variables.
_email_url = urlsplit(env_str("EMAIL_URL", ""))
if _email_url.scheme and _email_url.scheme not in {"smtp", "smtps"}:
    raise ImproperlyConfigured("EMAIL_URL must be smtp://... or smtps://...")
EMAIL_HOST = _email_url.hostname or env_str("EMAIL_HOST", "")
EMAIL_PORT = _email_url.port or env_int("EMAIL_PORT", 465 if _email_url.scheme == "smtps" else 587)
EMAIL_HOST_USER = unquote(_email_url.username or "") or env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = unquote(_email_url.password or "") or env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_SSL = _email_url.scheme == "smtps" or env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = not EMAIL_USE_SSL and env_bool("EMAIL_USE_TLS", bool(EMAIL_HOST))
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Cohort dashboard <dashboard@localhost>")
# The dashboard's public address, for the links in emails.
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")
# At-risk marks older than this are not emailed (a first start does not mail the history).
ALERT_WINDOW_HOURS = env_int("ALERT_WINDOW_HOURS", 48)

# GraphQL: executed answers of cohort queries kept per process, keyed by the document,
# variables, audience and the snapshot's content (dashboard/graphql/result_cache.py).
GRAPHQL_RESULT_CACHE = env_int("GRAPHQL_RESULT_CACHE", 128)  # answers; 0: off
GRAPHQL_RESULT_CACHE_BYTES = env_int("GRAPHQL_RESULT_CACHE_BYTES", 32 * 1024 * 1024)
