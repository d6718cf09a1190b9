"""Pre-trade rules' cost on bulk capture, in process: the same kind of 1,000-trade batch booked with and without
the compliance rules, alternated, each in a transaction rolled back (see bench/README.md, "Trade ingest").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a bench database after run_ingest.sh> \
    DJANGO_SETTINGS_MODULE=backoffice.settings.production SECRET_KEY=... ALLOWED_HOSTS=x \
        .venv/bin/python manage.py shell < bench/pretrade_rules.py

Prints the median wall time and application CPU per batch of each.
"""
import random
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.test import override_settings

from records.reference.models import Account, Counterparty, Instrument, Price
from records.reference.services.calendar import is_trading_session
from records.trades.services import TradeInput, trade_submit_batch

rng = random.Random(5)
user = User.objects.get(username="bench-oms")
accounts = list(Account.objects.filter(status="ACTIVE").values_list("code", flat=True))
dealers = list(Counterparty.objects.filter(is_ccp=False).values_list("code", flat=True))
instruments = list(Instrument.objects.filter(is_active=True).select_related("market"))
last = {}
for p in Price.objects.order_by("instrument_id", "price_date"):
    last[p.instrument_id] = p.price
instruments = [i for i in instruments if i.pk in last]
today = date.today()
sessions = {i.pk: [today - timedelta(days=n) for n in range(1, 8)
                   if is_trading_session(market=i.market, day=today - timedelta(days=n))] for i in instruments}


def batch(k):
    """1,000 buys near the last price (the accounts are funded by run_ingest.sh)."""
    items = []
    for n in range(1000):
        i = rng.choice(instruments)
        price = (last[i.pk] * Decimal(str(rng.uniform(0.99, 1.01)))).quantize(Decimal("0.01"))
        items.append((n, TradeInput(
            external_ref=f"MICRO-{k}-{n}-{rng.random()}", account=rng.choice(accounts),
            counterparty=rng.choice(dealers), instrument=i.isin, side="BUY",
            quantity=Decimal(rng.randint(1, 50) * 100), price=price, trade_date=rng.choice(sessions[i.pk]))))
    return items


WITHOUT = {"PRETRADE_CHECKS": [{"NAME": "compliance.pretrade.RestrictedListCheck", "OPTIONS": {"action": "REJECT"}},
                               {"NAME": "compliance.pretrade.CurrencyCheck", "OPTIONS": {"action": "REJECT"}}],
           "TRADE_HOOKS": ["clearing.matching.services.matching.matching_on_trades"]}


class Rollback(Exception):
    pass


wall = {"without rules": [], "with rules": []}
cpu = {"without rules": [], "with rules": []}
for k in range(12):
    for label in (["without rules", "with rules"] if k % 2 else ["with rules", "without rules"]):
        items = batch(k)
        with override_settings(**WITHOUT) if label == "without rules" else override_settings():
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                with transaction.atomic():
                    results = trade_submit_batch(submitted_by=user, items=items)
                    assert sum(r.status == "created" for r in results.values()) == 1000
                    t1, c1 = time.perf_counter(), time.process_time()
                    raise Rollback
            except Rollback:
                pass
        if k >= 2:  # the first two rounds warm up
            wall[label].append((t1 - t0) * 1000)
            cpu[label].append((c1 - c0) * 1000)
for label in wall:
    print(f"{label}: median {statistics.median(wall[label]):.1f} ms per 1,000 trades, "
          f"application CPU {statistics.median(cpu[label]):.1f} ms")
