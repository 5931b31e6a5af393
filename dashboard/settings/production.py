"""Production settings: the base, tightened, configured from the environment only.

Fails fast at start-up on a missing ``SECRET_KEY`` or ``ALLOWED_HOSTS``; ``manage.py check
--deploy`` passes with no warning. TLS ends at the proxy (nginx, a PaaS router), which
tells Django the original scheme in ``X-Forwarded-Proto``. Every variable is documented
in ``.env.example`` and ``docs/deploy.md``.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dashboard.settings.base import *  # noqa: F403
from dashboard.settings.base import BASE_DIR, LOGGING, SIMPLE_JWT
from dashboard.settings.env import env_bool, env_choice, env_int, env_list, env_required, env_str
from dashboard.settings.keys import require_strong_key

DEBUG = False
SECRET_KEY = env_required("SECRET_KEY")
require_strong_key("SECRET_KEY", SECRET_KEY)
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])  # the old keys during a rotation
SIMPLE_JWT["SIGNING_KEY"] = env_str("JWT_SIGNING_KEY", "") or SECRET_KEY
require_strong_key("JWT_SIGNING_KEY", str(SIMPLE_JWT["SIGNING_KEY"]))

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required, e.g. dashboard.example.com.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"https://{h}" for h in ALLOWED_HOSTS])

# The OpenAPI schema and Swagger UI: for logged-in users and token holders only, unless
# API_DOCS says public (or off).
API_DOCS = env_choice("API_DOCS", "authenticated", ("public", "authenticated", "off"))

# --------------------------------------------------------------------------------------
# HTTPS behind a proxy
# --------------------------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Health probes and scrapes come over plain HTTP from inside the network (Docker, the PaaS router).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

# --------------------------------------------------------------------------------------
# Static files: collected at image build, served by WhiteNoise with hashed names
# --------------------------------------------------------------------------------------

STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --------------------------------------------------------------------------------------
# Background work: Celery beat runs the periodic jobs; the sampler is its own service
# --------------------------------------------------------------------------------------

PERIODIC_JOBS = env_str("PERIODIC_JOBS", "celery").strip().lower()
if PERIODIC_JOBS not in {"inprocess", "celery", "off"}:
    raise ImproperlyConfigured(
        f"PERIODIC_JOBS must be inprocess, celery or off, not {PERIODIC_JOBS!r}."
    )

# --------------------------------------------------------------------------------------
# Logs: JSON lines with the request id, to stdout (the platform collects them)
# --------------------------------------------------------------------------------------

LOG_FORMAT = env_str("LOG_FORMAT", "json").strip().lower()
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "plain"
