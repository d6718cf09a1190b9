#!/usr/bin/env python
"""How fast every dashboard page and every API list answers on a big book: p50 and p95 per URL.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_pages
    python bench/posting.py --fresh --trades 1000000      # 1,000,000 trades, settled and posted
    python bench/pages.py [--repeat 20] [--only /records/trades/]

Signs a superuser in (created if missing) and fetches, in process through Django's test client (the whole
middleware and view stack, no network), each page of the navigation (backoffice/navigation.py) and each GET
endpoint under /api/v1/ that takes no path parameter (the same list tests/backoffice/test_query_bounds.py
walks), plus the first page of a filter or two that clerks use all day. It seals the audit trail and VACUUM
ANALYZEs the database first, as the beat and autovacuum would have. Each URL is fetched once to warm up,
then --repeat times. Prints per URL the median and p95 in milliseconds, the queries of one fetch and the
status, slowest first, and how many are over --budget (300 ms by default). DEBUG is off, as in production.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.backoffice.test_query_bounds import NOT_LISTS, _api_lists, _pages, _required  # noqa: E402

EXTRA = [  # what a clerk filters all day
    "/records/trades/?status=BOOKED",
    "/records/trades/?account=BP-ACC-1",
    "/api/v1/trades/?status=SETTLED&page_size=100",
    "/records/trades/?status=HELD",  # rare statuses: found through their lifecycle events (no index names status)
    "/records/trades/?status=FAILED",
    "/api/v1/trades/?status=HELD&page_size=100",
    "/api/v1/inventory/?account=BP-ACC-1",
    "/records/audit/?record_type=records.trade",
]


def fetch(client: Client, url: str) -> tuple[float, int, int]:
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - start) * 1000
    return elapsed, response.status_code, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--budget", type=float, default=300.0, help="p95 budget in ms (default 300)")
    parser.add_argument("--only", action="append", help="just these URLs (repeatable)")
    args = parser.parse_args()
    # The audit trail as production keeps it: sealed every 10 s by the beat (records.audit_seal), so that
    # GET /api/v1/records/audit/verify/ checks what was sealed since its last verification, not millions of
    # records a bench loaded without a beat.
    from records.audit.services.audit_chain import audit_seal

    sealed = time.perf_counter()
    blocks = 0
    while batch := audit_seal():
        blocks += len(batch)
    if blocks:
        print(f"sealed the audit trail first: {blocks} blocks in {time.perf_counter() - sealed:.1f} s")
    # Statistics and visibility maps as autovacuum keeps them in production (this machine's server runs with
    # autovacuum off, and the loaders VACUUM or ANALYZE only some tables): without statistics PostgreSQL guesses
    # a third of a table for a range and scans millions of rows for a handful; without the visibility map a
    # count reads every heap page instead of the index alone.
    vacuumed = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        # The pages VACUUM dirtied are written now, not by a checkpoint in the middle of the timings.
        cursor.execute("CHECKPOINT")
    print(f"vacuumed, analyzed and checkpointed the database in {time.perf_counter() - vacuumed:.1f} s")
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    user, _ = User.objects.get_or_create(username="bench-pages", defaults={"is_superuser": True, "is_staff": True})
    client = Client()
    client.force_login(user)
    urls = args.only or (_pages() + [f"{path}?{_required(path)}page_size=100" for path in _api_lists()
                                     if path not in NOT_LISTS] + EXTRA)
    rows = []
    for url in urls:
        _, status, _ = fetch(client, url)
        if status == 405:
            continue
        times, queries = [], 0
        for _ in range(args.repeat):
            elapsed, status, queries = fetch(client, url)
            times.append(elapsed)
            reset_queries()
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        rows.append((p95, statistics.median(times), queries, status, url))
    rows.sort(reverse=True)
    print(f"{'p95 ms':>8} {'p50 ms':>8} {'queries':>7} {'status':>6}  url")
    for p95, p50, queries, status, url in rows:
        flag = "  <-- over budget" if p95 > args.budget else ""
        print(f"{p95:8.1f} {p50:8.1f} {queries:7d} {status:6d}  {url}{flag}")
    over = [row for row in rows if row[0] > args.budget]
    print(f"{len(rows)} URLs, {len(over)} over {args.budget:.0f} ms at p95")


if __name__ == "__main__":
    main()
