#!/bin/sh
# The image's one entrypoint: the first argument picks the role of this container.
#
#   web          the ASGI server (uvicorn) on $HOST:$PORT (default 0.0.0.0:8000)
#   metrics      the cache metrics sampler (manage.py metrics_pump)
#   worker       a Celery worker (runs the periodic jobs beat sends)
#   beat         Celery beat (schedules the periodic jobs; run exactly one)
#   migrate      apply the database migrations, then exit
#   healthcheck  exit 0 when the web server on $PORT answers /healthz
#   anything else is run as a command (e.g. `python manage.py createsuperuser`)
#
# Configuration is the environment only (.env.example documents every variable).
set -eu

cd "$(dirname "$0")/.."
# The code is not an installed package: keep its root importable for every role.
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"

role="${1:-web}"
if [ "$#" -gt 0 ]; then
    shift
fi

log_level="${LOG_LEVEL:-INFO}"

# Prometheus metrics of this role's processes (dashboard/prometheus.py): one file set per
# process in PROMETHEUS_MULTIPROC_DIR, named <role>-<host>-p<pid>. The files a previous
# run of this container left (their processes are gone) are removed, never those of a live
# process: the directory may be a volume shared by several containers, whose web /metrics
# then adds them all up.
metrics_files() {
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus-metrics}"
    METRICS_PROCESS_PREFIX="$(printf '%s-%s' "$role" "$(uname -n)" | tr '_' '-')"
    export METRICS_PROCESS_PREFIX
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    for file in "$PROMETHEUS_MULTIPROC_DIR"/*_"$METRICS_PROCESS_PREFIX"-p*.db; do
        [ -e "$file" ] || continue
        pid="${file##*-p}"
        pid="${pid%.db}"
        # This shell's pid becomes the role's (exec): a file with it is a previous run's.
        if [ "$pid" = "$$" ] || [ ! -d "/proc/$pid" ]; then
            rm -f "$file"
        fi
    done
}
case "$role" in
    web | metrics | worker | beat) metrics_files ;;
esac

case "$role" in
    web)
        # JSON lines for uvicorn's own messages too, unless LOG_FORMAT=plain.
        if [ "${LOG_FORMAT:-json}" = "json" ]; then
            set -- --log-config deploy/uvicorn-logging.json "$@"
        fi
        # uvicorn with the options every server of this project runs with (dashboard/serve.py).
        exec python -m dashboard.serve \
            --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" --proxy-headers \
            --timeout-graceful-shutdown "${GRACEFUL_TIMEOUT:-10}" \
            "$@"
        ;;
    metrics)
        exec python manage.py metrics_pump "$@"
        ;;
    worker)
        exec celery --app dashboard.celery worker \
            --loglevel "$log_level" --concurrency "${CELERY_CONCURRENCY:-2}" \
            --hostname "worker@%h" "$@"
        ;;
    beat)
        exec celery --app dashboard.celery beat \
            --loglevel "$log_level" \
            --schedule "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}" "$@"
        ;;
    migrate)
        exec python manage.py migrate --noinput "$@"
        ;;
    healthcheck)
        exec python deploy/healthcheck.py "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
