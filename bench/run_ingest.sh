#!/usr/bin/env bash
# Trade-ingest benchmark end to end: a fresh PostgreSQL database with the demo firm, the app under
# gunicorn with production settings, then bench/ingest.py against it (see bench/README.md).
#
#   bash bench/run_ingest.sh                      # defaults below
#   BULK_TRADES=200000 WORKERS=3 bash bench/run_ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
DB=${BENCH_DB:-backoffice_bench}
PORT=${BENCH_PORT:-8765}
WORKERS=${WORKERS:-3}
BULK_TRADES=${BULK_TRADES:-100000}
BULK_CLIENTS=${BULK_CLIENTS:-2}
SINGLE_TRADES=${SINGLE_TRADES:-4000}
CLIENTS=${CLIENTS:-8}

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export DJANGO_SETTINGS_MODULE=backoffice.settings.production
export SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export ALLOWED_HOSTS="127.0.0.1,localhost"
export SECURE_SSL_REDIRECT=false
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15}
export API_THROTTLE_RATE=${API_THROTTLE_RATE:-100000000/min}
export CONN_MAX_AGE=600

psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
$PY manage.py migrate --noinput -v 0
$PY manage.py collectstatic --noinput -v 0
$PY manage.py load_demo -v 0
$PY manage.py shell -c "
from django.contrib.auth.models import Group, User
user, _ = User.objects.get_or_create(username='bench-oms')
user.groups.add(Group.objects.get(name='front_office'))
" >/dev/null
# The default compliance rules are in force (buying power among them): the demo accounts get the cash for
# a bench's worth of buys (100,000 trades average about 25,000 million of buys), one deposit per currency.
$PY manage.py shell -c "
from datetime import date
from decimal import Decimal
from records.cash.services import cash_movement_create
from records.reference.models import Account, Instrument
currencies = sorted(set(Instrument.objects.values_list('currency', flat=True)))
for account in Account.objects.filter(status='ACTIVE'):
    for currency in currencies:
        cash_movement_create(actor='bench', account=account, currency=currency, amount=Decimal(10) ** 12,
                             value_date=date.today(), reference=f'BENCH-FUND-{account.code}-{currency}')
" >/dev/null
TOKEN=$($PY manage.py drf_create_token bench-oms | awk '{print $3}')

.venv/bin/gunicorn backoffice.wsgi:application --workers "$WORKERS" --bind "127.0.0.1:$PORT" \
  --log-level warning --timeout 300 ${GUNICORN_ARGS:-} &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null; wait $GUNICORN 2>/dev/null' EXIT
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.5
done

echo "PostgreSQL database $DB, gunicorn with $WORKERS workers on port $PORT, $(nproc) cores"
$PY bench/ingest.py --url "http://127.0.0.1:$PORT" --token "$TOKEN" --bulk-trades "$BULK_TRADES" \
  --bulk-clients "$BULK_CLIENTS" --single-trades "$SINGLE_TRADES" --clients "$CLIENTS" --cpu
$PY manage.py shell -c "
from records.audit.models import AuditRecord
from records.positions.models import Position
from records.trades.models import Trade
from django.db.models import Count
statuses = dict(Trade.objects.values_list('status').annotate(n=Count('id')))
print(f'booked: {Trade.objects.count():,} trades ({statuses}), {Position.objects.count():,} positions, '
      f'{AuditRecord.objects.count():,} audit records')
"
