"""Prometheus metrics: what they count, where they are counted, ``GET /metrics``.

Every process of a role writes its metrics to ``PROMETHEUS_MULTIPROC_DIR`` when it is set
(``deploy/entrypoint.sh`` sets it and removes the files a previous run of the same
container left): the web server, the cache metrics sampler, Celery's worker processes.
``/metrics`` adds up every file there, so several processes, or several containers
sharing the directory, answer as one. Without it (``make run``, the tests) the metrics
are this process's own.

Hot paths stay cheap: the WebSocket fan-out counts deliveries once per batch, not per
socket; frames and sockets are plain integers on the hub, copied into the metrics once a
second (``hub_sample``, from the hub's sweep) and at each scrape. The cache's counts are
the instrumented cache's own (``dashboard.cache_metrics``), read at scrape time by a
collector: there is no second count to drift from the cache panel's.
"""

from __future__ import annotations

import atexit
import contextlib
import hmac
import ipaddress
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


# ======================================================================================
# Multiprocess files: one set per process, named so containers sharing a directory
# never collide (every container's first process is pid 1)
# ======================================================================================


def process_identifier() -> str:
    """Return this process's name in the metrics files: ``<prefix>-p<pid>``.

    The prefix is ``METRICS_PROCESS_PREFIX`` (the entrypoint sets ``<role>-<hostname>`` and
    removes ``*_<prefix>-p*.db`` at start), else the host name. ``_`` separates the parts
    of a file name, so it is replaced.
    """
    prefix = os.environ.get("METRICS_PROCESS_PREFIX") or socket.gethostname()
    return f"{prefix}-p{os.getpid()}".replace("_", "-")


MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROC_DIR:
    os.makedirs(MULTIPROC_DIR, exist_ok=True)
    # Before any metric below is made: each takes its value class when created.
    values.ValueClass = values.MultiProcessValue(process_identifier)


def process_exited(*args: Any, **kwargs: Any) -> None:
    """Drop this process's live gauges from the totals (a server's or worker's exit)."""
    if MULTIPROC_DIR:
        mark_process_dead(process_identifier(), MULTIPROC_DIR)


if MULTIPROC_DIR:
    atexit.register(process_exited)


# ======================================================================================
# The metrics
# ======================================================================================

# Request latencies from 1 ms (a cached read) to 10 s (a stuck dependency).
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# A fan-out to one socket takes microseconds, to 10,000 tens of milliseconds.
_FANOUT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)

HTTP_REQUESTS = Counter(
    "dashboard_http_requests_total",
    "HTTP requests answered, by view, method and status.",
    ["view", "method", "status"],
)
HTTP_DURATION = Histogram(
    "dashboard_http_request_duration_seconds",
    "Time from the request reaching Django's middleware to its response, by view and method.",
    ["view", "method"],
    buckets=_HTTP_BUCKETS,
)
WS_OPEN = Gauge(
    "dashboard_ws_connections_open",
    "WebSocket connections open now.",
    multiprocess_mode="livesum",
)
WS_OPENED = Counter("dashboard_ws_connections_total", "WebSocket connections accepted.")
WS_FRAMES = Counter("dashboard_ws_frames_sent_total", "WebSocket frames written to sockets.")
WS_DELIVERIES = Counter(
    "dashboard_ws_deliveries_total", "Events handed to sockets by the fan-out (socket x event)."
)
WS_FANOUT = Histogram(
    "dashboard_ws_fanout_seconds",
    "Time to hand one batch of events to every socket of a topic in this process.",
    buckets=_FANOUT_BUCKETS,
)
WS_CLOSED = Counter(
    "dashboard_ws_closed_total",
    "WebSocket connections the server closed, by close code (4408: a slow client cut).",
    ["code"],
)
WS_RECOVERIES = Counter(
    "dashboard_ws_recoveries_total",
    "Subscriptions with `since`, by whether the missed events were replayed.",
    ["recovered"],
)
WS_RESYNCS = Counter(
    "dashboard_ws_resyncs_total",
    "Gaps in a topic's live events filled from the database (a lost or late publish).",
)
PRESENCE_ENTRIES = Gauge(
    "dashboard_presence_entries",
    "Viewers (cohort, user) present through this deployment's sockets.",
    multiprocess_mode="livesum",
)
EVENTS_APPENDED = Counter(
    "dashboard_events_appended_total", "Events committed to the cohorts' logs, by kind.", ["kind"]
)
JOB_RUNS = Counter(
    "dashboard_job_runs_total", "Periodic job runs (Celery or in-process), by job.", ["job"]
)
JOB_FAILURES = Counter(
    "dashboard_job_failures_total", "Periodic job runs that raised, by job.", ["job"]
)
JOB_DURATION = Histogram(
    "dashboard_job_duration_seconds",
    "Time a periodic job run took, by job.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)


# ======================================================================================
# Hooks: one call from where the thing happens
# ======================================================================================


def fanout_done(sockets: int, events: int, seconds: float) -> None:
    """Count one fan-out batch: ``events`` handed to ``sockets`` in ``seconds``."""
    WS_DELIVERIES.inc(sockets * events)
    WS_FANOUT.observe(seconds)


def ws_closed(code: int) -> None:
    """Count a socket the server closes with ``code``."""
    WS_CLOSED.labels(code=str(code)).inc()


def ws_recovery(recovered: bool) -> None:
    """Count a subscription with ``since``: replayed (True) or told to reload (False)."""
    WS_RECOVERIES.labels(recovered="true" if recovered else "false").inc()


def ws_resync() -> None:
    """Count a gap in a topic's live events being read from the database."""
    WS_RESYNCS.inc()


def event_appended(kind: str) -> None:
    """Count an event of ``kind`` once its transaction commits (a rollback counts none)."""
    from django.db import transaction

    transaction.on_commit(EVENTS_APPENDED.labels(kind=kind).inc)


def job_finished(job: str, *, seconds: float, failed: bool) -> None:
    """Count one run of a periodic job."""
    JOB_RUNS.labels(job=job).inc()
    JOB_DURATION.labels(job=job).observe(seconds)
    if failed:
        JOB_FAILURES.labels(job=job).inc()


@contextlib.contextmanager
def job_run(job: str) -> Iterator[None]:
    """Count and time the run of ``job`` inside the block; an exception is a failure."""
    started = time.monotonic()
    try:
        yield
    except BaseException:
        job_finished(job, seconds=time.monotonic() - started, failed=True)
        raise
    job_finished(job, seconds=time.monotonic() - started, failed=False)


def install_celery_signals() -> None:
    """Count every Celery task run as a job run (the worker's processes); idempotent."""
    from celery.signals import task_postrun, task_prerun, worker_process_shutdown

    started: dict[str, float] = {}

    def prerun(task_id: str | None = None, **kwargs: Any) -> None:
        started[task_id or ""] = time.monotonic()

    def postrun(
        task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any
    ) -> None:
        begun = started.pop(task_id or "", None)
        name = str(getattr(task, "name", "unknown")).removeprefix("dashboard.")
        seconds = time.monotonic() - begun if begun is not None else 0.0
        job_finished(name, seconds=seconds, failed=state not in (None, "SUCCESS"))

    task_prerun.connect(prerun, weak=False, dispatch_uid="dashboard.prometheus.prerun")
    task_postrun.connect(postrun, weak=False, dispatch_uid="dashboard.prometheus.postrun")
    # Pool processes leave with os._exit: atexit does not run there.
    worker_process_shutdown.connect(
        process_exited, weak=False, dispatch_uid="dashboard.prometheus.exit"
    )


# ======================================================================================
# The hub's plain counters, copied into the metrics
# ======================================================================================

_hub_lock = threading.Lock()
_hub_seen: weakref.WeakKeyDictionary[Any, tuple[int, int]] = weakref.WeakKeyDictionary()


def _hubs() -> list[Any]:
    from realtime import hub

    return list(hub._hubs.values())


def hub_sample() -> None:
    """Copy the counters of this process's hubs into the metrics.

    Called once a second by each hub's sweep and at each scrape; adds what changed since.
    """
    with _hub_lock:
        open_now = presence = 0
        for hub in _hubs():
            frames = hub.frames_pushed + hub.native_frames
            opened = hub.sockets_opened
            last_frames, last_opened = _hub_seen.get(hub, (0, 0))
            if frames > last_frames:
                WS_FRAMES.inc(frames - last_frames)
            if opened > last_opened:
                WS_OPENED.inc(opened - last_opened)
            _hub_seen[hub] = (frames, opened)
            open_now += len(hub.connections)
            presence += len(hub.local_presence)
        WS_OPEN.set(open_now)
        PRESENCE_ENTRIES.set(presence)


# ======================================================================================
# The cache's own counters, read at scrape time
# ======================================================================================

_CACHE_KINDS = (
    ("hits", "h", "Cache lookups that found the key, by key family and backend."),
    ("misses", "m", "Cache lookups that did not, by key family and backend."),
    ("sets", "s", "Cache writes, by key family and backend."),
    ("deletes", "d", "Cache deletes, by key family and backend."),
    ("errors", "e", "Cache operations that failed (backend down), by key family and backend."),
)


class CacheCollector(Collector):
    """The instrumented cache's lifetime counters (``dashboard.cache_metrics``).

    With Redis they are the deployment's (every process adds to the same hashes), so every
    web replica reports the same values: aggregate them with ``max``, not ``sum``.
    """

    def collect(self) -> Iterator[CounterMetricFamily]:
        from django.core.cache import caches

        from dashboard.cache_metrics import CACHE_ERRORS, InstrumentedCache, default_recorder

        cache = caches["default"]
        backend = cache.backend_name if isinstance(cache, InstrumentedCache) else "unknown"
        recorder = default_recorder()
        try:
            recorder.flush()
            totals, _ = recorder.store.read([])
        except CACHE_ERRORS as exc:
            logger.warning("metrics: cache counters unavailable: %s", exc)
            return
        per_family: dict[str, dict[str, int]] = {}
        for field, value in totals.items():
            kind, _, family = field.partition(":")
            if kind in "hmsde" and family and ":" not in family and family != "clear":
                per_family.setdefault(family, {})[kind] = value
        families = sorted(per_family)
        gets = CounterMetricFamily(
            "dashboard_cache_gets",
            "Cache lookups (hits + misses), by key family and backend.",
            labels=["family", "backend"],
        )
        for family in families:
            counts = per_family[family]
            gets.add_metric([family, backend], counts.get("h", 0) + counts.get("m", 0))
        yield gets
        for name, kind, documentation in _CACHE_KINDS:
            metric = CounterMetricFamily(
                f"dashboard_cache_{name}", documentation, labels=["family", "backend"]
            )
            for family in families:
                metric.add_metric([family, backend], per_family[family].get(kind, 0))
            yield metric


_cache_collector = CacheCollector()
if not MULTIPROC_DIR:
    REGISTRY.register(_cache_collector)


def exposition() -> bytes:
    """Return every metric of this process (or of every process sharing the directory)."""
    hub_sample()
    if not MULTIPROC_DIR:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, MULTIPROC_DIR)
    registry.register(_cache_collector)
    return generate_latest(registry)


# ======================================================================================
# HTTP: the request middleware and the /metrics view
# ======================================================================================


def _view_label(request: Any) -> str:
    """Return a bounded label for the request's view: its URL name or route, never the path."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return str(match.view_name or match.route or "unnamed")
    from django.conf import settings

    if request.path.startswith(str(settings.STATIC_URL)):
        return "static"
    return "unmatched"


class PrometheusMiddleware:
    """Count every HTTP request and time it, labelled by view, method and status."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        started = time.perf_counter()
        response = self.get_response(request)
        view = _view_label(request)
        method = request.method if request.method in _METHODS else "other"
        HTTP_DURATION.labels(view=view, method=method).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(view=view, method=method, status=str(response.status_code)).inc()
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _client_allowed(request: Any, allowed: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS: %r is not an address or network", entry)
    return False


def metrics_view(request: Any) -> Any:
    """Answer the metrics in Prometheus' text format, to whom the settings allow.

    Open with ``DEBUG`` on. Otherwise a request needs ``Authorization: Bearer
    <METRICS_TOKEN>`` or an address in ``METRICS_ALLOWED_IPS``; with neither set,
    nobody is let in (403).
    """
    from django.conf import settings
    from django.http import HttpResponse, JsonResponse

    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": "Method not allowed."}, status=405, headers={"Allow": "GET"})
    token = str(getattr(settings, "METRICS_TOKEN", ""))
    allowed = list(getattr(settings, "METRICS_ALLOWED_IPS", []))
    if not settings.DEBUG:
        given = request.headers.get("Authorization", "")
        token_ok = bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
        if not token_ok and not (allowed and _client_allowed(request, allowed)):
            if not token and not allowed:
                detail = "Metrics are off: set METRICS_TOKEN or METRICS_ALLOWED_IPS."
                return JsonResponse({"detail": detail}, status=403)
            return JsonResponse(
                {"detail": "A valid metrics token is required."},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    # The classic text format (0.0.4), which every Prometheus version reads.
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
