#!/usr/bin/env python
"""Posting two-line journal entries through django-ledger's own API, for bench/posting.py's comparison.

Runs with the python of a virtualenv that has django-ledger (not the project's: it brings its own
Django app and models; bench/README.md says how to create it):

    /tmp/djl-venv/bin/python bench/posting_ledger.py --entries 2000

Configures a minimal Django project in this process (settings.configure: django_ledger and what it
needs), creates a throwaway PostgreSQL database (--database, on PGHOST/PGPORT/PGUSER, default
127.0.0.1:5432 postgres), migrates it, then through django-ledger's API: a user, an entity
(EntityModel.create_entity), its default chart of accounts (populate_default_coa, accounts
activated) and a ledger (create_ledger). It then posts --entries two-line entries, each a
trade-like pair (a purchase: Dr securities / Cr payable; a sale: Dr receivable / Cr securities, in
turn), through LedgerModel.commit_txs (its journal entry API: validates the balance and the
period, creates the entry, bulk-creates the transactions, verifies and posts the entry), one entry
a call as a posting engine built on it would, timed. Then drops the database.

Prints one JSON line: version, entries, seconds, entries_per_second, peak_rss (MiB), how.
"""

import argparse
import json
import os
import random
import resource
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path


def peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def configure(database: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-posting-ledger",  # noqa: S106 (a throwaway process)
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                        "django.contrib.messages", "django_ledger"],
        DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": database,
                               "HOST": os.environ.get("PGHOST", "127.0.0.1"), "PORT": os.environ.get("PGPORT", "5432"),
                               "USER": os.environ.get("PGUSER", "postgres"),
                               "PASSWORD": os.environ.get("PGPASSWORD", "")}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        DJANGO_LEDGER_USE_DEPRECATED_BEHAVIOR=False,  # its current API, not the deprecated entity_slug one
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                    "OPTIONS": {"context_processors": ["django_ledger.context.django_ledger_context"]}}],
    )
    django.setup()


def admin_connection():
    import psycopg

    return psycopg.connect(dbname="postgres", host=os.environ.get("PGHOST", "127.0.0.1"),
                           port=os.environ.get("PGPORT", "5432"), user=os.environ.get("PGUSER", "postgres"),
                           autocommit=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=2_000, help="two-line entries to post (default 2,000)")
    parser.add_argument("--database", default="bench_posting_djl", help="throwaway database (dropped, recreated)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not args.database.startswith("bench"):
        raise SystemExit("--database is dropped and recreated: give a name starting with 'bench'")

    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    configure(args.database)

    from importlib.metadata import version

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    from django_ledger.io import roles
    from django_ledger.models import EntityModel

    user = get_user_model().objects.create_user(username="bench", password=None)
    entity = EntityModel.create_entity(name="Bench broker-dealer", use_accrual_method=True, admin=user,
                                       fy_start_month=1)
    entity.populate_default_coa(activate_accounts=True)
    accounts = entity.get_default_coa_accounts()

    def first(role):
        return accounts.filter(role=role).order_by("code").first()

    securities = first(roles.ASSET_CA_MKT_SECURITIES)
    receivable = first(roles.ASSET_CA_RECEIVABLES)
    payable = first(roles.LIABILITY_CL_ACC_PAYABLE)
    ledger = entity.create_ledger(name="Bench trades", posted=True)

    rng = random.Random(1)
    start = datetime.now(UTC) - timedelta(days=30)
    rss_before = peak_rss_mib()
    started = time.monotonic()
    for n in range(args.entries):
        amount = (Decimal(rng.randint(1, 2000)) * Decimal(rng.randint(500, 90000)) / 100).quantize(Decimal("0.01"))
        buy = n % 2 == 0
        debit, credit = (securities, payable) if buy else (receivable, securities)
        description = f"{'Buy' if buy else 'Sell'} (trade {n})"
        ledger.commit_txs(je_timestamp=start + timedelta(seconds=n), je_posted=True, je_desc=description,
                          je_txs=[{"account": debit, "amount": amount, "tx_type": "debit", "description": description},
                                  {"account": credit, "amount": amount, "tx_type": "credit",
                                   "description": description}])
    seconds = time.monotonic() - started
    from django_ledger.models import JournalEntryModel, TransactionModel

    posted = JournalEntryModel.objects.filter(ledger=ledger, posted=True).count()
    lines = TransactionModel.objects.filter(journal_entry__ledger=ledger).count()
    connections.close_all()
    if not args.keep:
        with admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
    print(json.dumps({"version": version("django-ledger"), "entries": posted, "lines": lines, "seconds": seconds,
                      "entries_per_second": posted / seconds, "peak_rss": peak_rss_mib(), "rss_before": rss_before,
                      "how": "LedgerModel.commit_txs, one entry a call, posted"}))


if __name__ == "__main__":
    main()
