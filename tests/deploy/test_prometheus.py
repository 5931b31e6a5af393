"""GET /metrics: Prometheus' text format, parsed by prometheus-client's own parser, and
each metric moving when the thing it counts happens."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from dashboard import jobs
from tests.factories import make_cohort
from tests.realtime.conftest import (  # noqa: F401  (fixtures)
    _stop_hub_after,
    acomment,
    fast_realtime,
    sockets,
)

ROOT = Path(__file__).resolve().parents[2]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: Client | None = None, **headers: str) -> Samples:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.content.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return the sum of ``name``'s samples whose labels include ``labels`` (0 if none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # /metrics is open with DEBUG; the protection has its own tests
    return settings


# --------------------------------------------------------------------------------------
# The format and the names
# --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_answer_in_prometheus_text_format_with_the_documented_names():
    Client().get("/healthz")
    samples = scrape()
    names = {name for name, _ in samples}
    for expected in (
        "dashboard_http_requests_total",
        "dashboard_http_request_duration_seconds_bucket",
        "dashboard_ws_connections_open",
        "dashboard_ws_frames_sent_total",
        "dashboard_ws_deliveries_total",
        "dashboard_ws_fanout_seconds_count",
        "dashboard_presence_entries",
    ):
        assert expected in names, expected


@pytest.mark.django_db
def test_an_http_request_moves_the_counter_and_the_latency_histogram_of_its_view():
    before = scrape()
    Client().get("/healthz")
    after = scrape()
    labels = {"view": "healthz", "method": "GET", "status": "200"}
    assert value(after, "dashboard_http_requests_total", **labels) == (
        value(before, "dashboard_http_requests_total", **labels) + 1
    )
    count = "dashboard_http_request_duration_seconds_count"
    assert value(after, count, view="healthz") == value(before, count, view="healthz") + 1


@pytest.mark.django_db
def test_requests_are_labelled_by_view_not_by_path_so_ids_do_not_grow_the_series():
    Client().get("/api/cohorts/123456/snapshot/")
    Client().get("/no/such/page/987654")
    text = Client().get("/metrics").content.decode()
    assert "123456" not in text and "987654" not in text
    samples = parse(text)
    assert value(samples, "dashboard_http_requests_total", view="cohort-snapshot") >= 1
    assert value(samples, "dashboard_http_requests_total", view="unmatched", status="404") >= 1


# --------------------------------------------------------------------------------------
# Events, the cache, the jobs
# --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_appended_event_counts_by_kind_once_committed():
    world = make_cohort(learners=1)
    before = value(scrape(), "dashboard_events_appended_total", kind="comment.added")
    from dashboard.services.reactions import comment_add

    comment_add(actor=world.mentor, cohort_id=world.cohort.pk, seq=1, text="counted")
    after = value(scrape(), "dashboard_events_appended_total", kind="comment.added")
    assert after == before + 1


@pytest.mark.django_db(transaction=True)
def test_an_event_rolled_back_with_its_write_is_not_counted():
    from django.db import transaction

    from dashboard.services.events import event_append

    world = make_cohort(learners=1)
    before = value(scrape(), "dashboard_events_appended_total", kind="test.rolled_back")
    with pytest.raises(RuntimeError), transaction.atomic():
        event_append(cohort_id=world.cohort.pk, kind="test.rolled_back", actor=None, data={})
        raise RuntimeError("roll back")
    assert value(scrape(), "dashboard_events_appended_total", kind="test.rolled_back") == before


@pytest.mark.django_db
def test_cache_hits_and_misses_are_the_instrumented_caches_own_counts():
    from django.core.cache import cache, caches

    from dashboard.cache_metrics import build_sample, default_recorder

    before = scrape()
    cache.get("promtest:absent")
    cache.set("promtest:present", 1)
    cache.get("promtest:present")
    cache.get("promtest:present")
    after = scrape()
    backend = {"family": "promtest"}
    assert value(after, "dashboard_cache_hits_total", **backend) == (
        value(before, "dashboard_cache_hits_total", **backend) + 2
    )
    assert value(after, "dashboard_cache_misses_total", **backend) == (
        value(before, "dashboard_cache_misses_total", **backend) + 1
    )
    assert value(after, "dashboard_cache_gets_total", **backend) == (
        value(before, "dashboard_cache_gets_total", **backend) + 3
    )
    # The same numbers as the cache panel's sample: one count, two readers.
    sample = build_sample(cache=caches["default"], recorder=default_recorder())
    family = sample["families"]["promtest"]
    assert value(after, "dashboard_cache_hits_total", **backend) == family["total_hits"]
    assert value(after, "dashboard_cache_misses_total", **backend) == family["total_misses"]
    backends = {
        dict(labels)["backend"] for name, labels in after if name.startswith("dashboard_cache_")
    }
    assert backends == {sample["backend"]}


@pytest.mark.django_db
def test_a_job_run_and_a_failing_job_are_counted(monkeypatch):
    def broken() -> int:
        raise RuntimeError("job bug")

    monkeypatch.setattr(
        jobs, "JOBS", {"at_risk_recompute": jobs.at_risk_recompute, "broken": broken}
    )
    before = scrape()
    jobs.run_jobs_once()
    after = scrape()
    for job, failures in (("at_risk_recompute", 0), ("broken", 1)):
        assert value(after, "dashboard_job_runs_total", job=job) == (
            value(before, "dashboard_job_runs_total", job=job) + 1
        )
        assert value(after, "dashboard_job_failures_total", job=job) == (
            value(before, "dashboard_job_failures_total", job=job) + failures
        )


@pytest.mark.django_db
def test_a_celery_task_run_counts_as_a_job_run(settings):
    from dashboard import tasks
    from dashboard.celery import app

    app.conf.task_always_eager = True
    try:
        before = value(scrape(), "dashboard_job_runs_total", job="at_risk_recompute")
        tasks.at_risk_recompute.delay()
    finally:
        app.conf.task_always_eager = False
    assert value(scrape(), "dashboard_job_runs_total", job="at_risk_recompute") == before + 1


# --------------------------------------------------------------------------------------
# WebSockets
# --------------------------------------------------------------------------------------

ascrape = sync_to_async(scrape)


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_connect_and_a_live_event_move_the_socket_metrics(sockets):  # noqa: F811
    world = await database_sync_to_async(make_cohort)(learners=1)
    before = await ascrape()
    assert value(before, "dashboard_ws_connections_open") == 0
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}", "since": 1})
    await sock.recv_type("subscribed")
    connected = await ascrape()
    assert value(connected, "dashboard_ws_connections_open") == 1
    assert value(connected, "dashboard_ws_connections_total") == (
        value(before, "dashboard_ws_connections_total") + 1
    )
    assert value(connected, "dashboard_presence_entries") == 1
    assert value(connected, "dashboard_ws_recoveries_total", recovered="true") == (
        value(before, "dashboard_ws_recoveries_total", recovered="true") + 1
    )
    await acomment(world, "live")
    await sock.recv_type("event")
    after = await ascrape()
    assert value(after, "dashboard_ws_deliveries_total") == (
        value(connected, "dashboard_ws_deliveries_total") + 1
    )
    assert value(after, "dashboard_ws_fanout_seconds_count") == (
        value(connected, "dashboard_ws_fanout_seconds_count") + 1
    )
    assert value(after, "dashboard_ws_frames_sent_total") > value(
        before, "dashboard_ws_frames_sent_total"
    )
    await sock.close()
    closed = await ascrape()
    assert value(closed, "dashboard_ws_connections_open") == 0
    assert value(closed, "dashboard_presence_entries") == 0


@pytest.mark.django_db(transaction=True)
async def test_a_recovery_that_cannot_replay_and_a_server_close_are_counted(sockets):  # noqa: F811
    world = await database_sync_to_async(make_cohort)(learners=1)
    before = await ascrape()
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": f"cohort:{world.cohort.pk}", "since": 999})
    subscribed = await sock.recv_type("subscribed")
    assert subscribed["recovered"] is False
    silent = await sockets.open()  # never authenticates: closed with 4401 by the sweep
    assert await silent.closed_with(timeout=15) == 4401
    after = await ascrape()
    assert value(after, "dashboard_ws_recoveries_total", recovered="false") == (
        value(before, "dashboard_ws_recoveries_total", recovered="false") + 1
    )
    assert value(after, "dashboard_ws_closed_total", code="4401") == (
        value(before, "dashboard_ws_closed_total", code="4401") + 1
    )


# --------------------------------------------------------------------------------------
# Who may read them
# --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_with_debug_off_and_nothing_configured_metrics_are_refused(settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert Client().get("/metrics").status_code == 403


@pytest.mark.django_db
def test_with_debug_off_a_bearer_token_is_required(settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    settings.METRICS_ALLOWED_IPS = []
    assert Client().get("/metrics").status_code == 401
    wrong = Client().get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    assert scrape(Authorization="Bearer s3cret-scrape-token")


@pytest.mark.django_db
def test_with_debug_off_an_allowed_address_needs_no_token(settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.1").get("/metrics").status_code == 401


@pytest.mark.django_db
def test_metrics_refuse_writes():
    assert Client().post("/metrics").status_code == 405


# --------------------------------------------------------------------------------------
# Several processes, one answer
# --------------------------------------------------------------------------------------

_COUNT = """
import django
django.setup()
from dashboard import prometheus
prometheus.EVENTS_APPENDED.labels(kind="multi.proc").inc({n})
prometheus.WS_OPEN.inc({n})
"""
_EXPOSE = """
import django
django.setup()
from dashboard import prometheus
import sys
sys.stdout.write(prometheus.exposition().decode())
"""


def test_processes_sharing_the_multiprocess_directory_add_up(tmp_path):
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
        "PYTHONPATH": str(ROOT),
    }

    def run(code: str, prefix: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "METRICS_PROCESS_PREFIX": prefix},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    run(_COUNT.format(n=2), "worker-a")  # a process that ran and exited
    run(_COUNT.format(n=3), "worker_b")  # "_" in a prefix must not break the file names
    samples = parse(run(_EXPOSE, "web-a"))
    assert value(samples, "dashboard_events_appended_total", kind="multi.proc") == 5
    # Live gauges count live processes only: both writers have exited.
    assert value(samples, "dashboard_ws_connections_open") == 0


# --------------------------------------------------------------------------------------
# The Grafana dashboard and the docs name what /metrics exposes
# --------------------------------------------------------------------------------------

_METRIC_NAME = re.compile(r"\b(dashboard_[a-z0-9_]+)")
_SUFFIXES = ("_bucket", "_count", "_sum", "_created")


def _exposed_families() -> set[str]:
    from prometheus_client import REGISTRY

    return {
        metric.name + ("_total" if metric.type == "counter" else "")
        for metric in REGISTRY.collect()
        if metric.name.startswith("dashboard_")
    }


def _base(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


@pytest.mark.django_db
def test_every_metric_is_documented_in_operations_md():
    documented = {_base(n) for n in _METRIC_NAME.findall((ROOT / "docs/operations.md").read_text())}
    missing = _exposed_families() - documented
    assert not missing, f"not in docs/operations.md: {sorted(missing)}"


@pytest.mark.django_db
def test_the_grafana_dashboard_plots_only_metrics_that_exist_and_most_of_them():
    board = json.loads((ROOT / "deploy/grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
    used = {_base(n) for expr in exprs for n in _METRIC_NAME.findall(expr)}
    exposed = _exposed_families()
    assert used <= exposed, sorted(used - exposed)
    unplotted = exposed - used
    assert unplotted <= {
        "dashboard_cache_sets_total",
        "dashboard_cache_deletes_total",
        "dashboard_cache_misses_total",
    }, sorted(unplotted)
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
