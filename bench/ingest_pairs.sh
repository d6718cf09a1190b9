#!/usr/bin/env bash
# Alternate bench/ingest.py between two checkouts, each on its own bench database, so that a change's cost is
# measured in pairs run seconds apart (this machine's speed drifts by 20% over minutes; see bench/README.md).
#
#   BENCH_DB=bench_before bash bench/run_ingest.sh   # in the other checkout (its .venv, or a link to this one)
#   BENCH_DB=bench_after bash bench/run_ingest.sh    # here: both databases set up and funded once
#   BEFORE=/tmp/before ROUNDS=3 bash bench/ingest_pairs.sh
set -uo pipefail
cd "$(dirname "$0")/.."
AFTER=$PWD
BEFORE=${BEFORE:?the other checkout}
ROUNDS=${ROUNDS:-3}
export DJANGO_SETTINGS_MODULE=backoffice.settings.production
export SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export ALLOWED_HOSTS="127.0.0.1,localhost" SECURE_SSL_REDIRECT=false CONN_MAX_AGE=600
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15} API_THROTTLE_RATE=100000000/min

serve() {  # checkout database port
  (cd "$1" && DATABASE_URL="postgres://postgres@127.0.0.1:5432/$2" exec .venv/bin/gunicorn \
     backoffice.wsgi:application --workers "${WORKERS:-3}" --bind "127.0.0.1:$3" --log-level warning --timeout 300) &
}
token() {  # checkout database
  (cd "$1" && DATABASE_URL="postgres://postgres@127.0.0.1:5432/$2" .venv/bin/python manage.py drf_create_token \
     bench-oms 2>/dev/null | awk '{print $3}')
}
serve "$BEFORE" "${BEFORE_DB:-bench_before}" 8772
serve "$AFTER" "${AFTER_DB:-bench_after}" 8771
trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT
TOKEN_BEFORE=$(token "$BEFORE" "${BEFORE_DB:-bench_before}")
TOKEN_AFTER=$(token "$AFTER" "${AFTER_DB:-bench_after}")
for _ in $(seq 1 60); do
  curl -sf http://127.0.0.1:8771/healthz >/dev/null && curl -sf http://127.0.0.1:8772/healthz >/dev/null && break
  sleep 0.5
done
for round in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    if [ "$side" = before ]; then port=8772; token=$TOKEN_BEFORE; else port=8771; token=$TOKEN_AFTER; fi
    echo "== round $round: $side"
    .venv/bin/python bench/ingest.py --url "http://127.0.0.1:$port" --token "$token" \
      --bulk-trades "${BULK_TRADES:-50000}" --bulk-clients 2 --single-trades "${SINGLE_TRADES:-1000}" --clients 8 --cpu
  done
done
