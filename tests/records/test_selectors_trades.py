"""The trade blotter's reads (records.trades.selectors): totals without counting a single page, the CSV rows
streamed in chunks, and an external-ref search that walks an index."""

import pytest
from django.db import connection

from backoffice.core.keyset import keyset_page
from records.trades import selectors

pytestmark = pytest.mark.django_db


def test_a_single_page_is_its_own_total_without_counting(blotter, django_assert_num_queries):
    trades = selectors.trade_blotter(side="SELL")
    page = keyset_page(trades)
    with django_assert_num_queries(0):
        totals = selectors.trade_blotter_totals(trades, page=page, cap=1)
    assert (totals.count, totals.capped, [t.currency for t in totals.by_currency]) == (3, False, ["GBP", "USD"])


def test_csv_export_streams_a_values_query_in_chunks(blotter, django_assert_num_queries):
    rows = selectors.trade_export_rows(selectors.trade_blotter(), chunk_size=2)
    with django_assert_num_queries(1):
        first = next(rows)
        assert isinstance(first, tuple) and first[1] == "BIG-0001"
        assert len(list(rows)) == 5


@pytest.mark.parametrize("ref", ["BULK-0001", "BULK*"])
def test_an_external_ref_search_walks_an_index_exact_or_prefix(book, ref):
    """LIKE 'BULK%' uses a btree only with pattern ops (the database's collation is C.UTF-8, not C)."""
    from records.trades import selectors

    # How the trades are found, without the blotter's joins and order: on a table of a few rows a walk of
    # another index (the primary key backwards, the instruments') can cost the same, and a full run on
    # PostgreSQL 18 left statistics under which the planner took one; that says nothing of a big table.
    sql, params = selectors.trade_blotter(external_ref=ref).select_related(None).order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's transaction: a tiny table
        cursor.execute("ANALYZE records_trade")  # these rows' statistics, not earlier tests'
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "trade_unique_ref_per_submitter" in plan, plan
