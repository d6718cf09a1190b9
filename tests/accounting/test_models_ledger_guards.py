"""The ledger's guards in PostgreSQL: balanced inserts only, append-only entries, closed periods refused."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from accounting.models import GLAccount, JournalEntry, JournalLine, Period
from tests.accounting.factories import post_entry

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 16)


def test_chart_of_accounts_has_every_role_the_rules_name():
    from accounting.posting.rules import RULES

    roles = set(GLAccount.objects.exclude(role=None).values_list("role", flat=True))
    named = {leg.debit for leg in RULES} | {leg.credit for leg in RULES}
    assert named - {"*monetary account*"} <= roles


def test_a_balanced_entry_posts_with_base_amounts():
    entry = post_entry(lines=[("CASH", "100.25"), ("ACCOUNT_FUNDS", "-100.25")], entry_date=DAY)
    lines = list(entry.lines.order_by("id").values_list("amount", "base_amount", "fx_rate"))
    assert lines == [(Decimal("100.25"), Decimal("100.25"), Decimal(1)), (Decimal("-100.25"), Decimal("-100.25"),
                                                                           Decimal(1))]


def test_the_database_refuses_an_unbalanced_insert_of_lines():
    entry = post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY)
    cash = GLAccount.objects.get(role="CASH")
    with pytest.raises(DatabaseError, match="does not balance"), transaction.atomic():
        JournalLine.objects.create(entry=entry, gl_account=cash, currency="USD", amount=Decimal("5"),
                                   base_amount=Decimal("5"), fx_rate=1, entry_date=DAY)
    assert entry.lines.count() == 2


@pytest.mark.parametrize("statement", [
    "UPDATE accounting_journalline SET amount = 0",
    "DELETE FROM accounting_journalline",
    "UPDATE accounting_journalentry SET description = 'edited'",
    "DELETE FROM accounting_journalentry",
])
def test_posted_entries_and_lines_are_never_updated_or_deleted(statement):
    entry = post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY)
    with pytest.raises(DatabaseError, match="never changed"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    entry.refresh_from_db()
    assert entry.description == "test entry" and entry.lines.count() == 2


def test_the_database_refuses_an_entry_dated_in_a_closed_period():
    Period.objects.create(start=date(2026, 11, 1), end=date(2026, 11, 30), status=Period.Status.CLOSED)
    with pytest.raises(DatabaseError, match="closed"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO accounting_journalentry (entry_date, event_date, source_type, source_id, "
                       "source_version, rule, generation, currency, description, posted_at) VALUES "
                       "('2026-11-16', '2026-11-16', 'MANUAL', 1, 0, 'TEST', 0, 'USD', 'x', now())")
    assert not JournalEntry.objects.exists()


def test_the_writer_dates_an_event_of_a_closed_period_on_the_first_open_day():
    Period.objects.create(start=date(2026, 11, 1), end=date(2026, 11, 30), status=Period.Status.CLOSED)
    entry = post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY)
    assert (entry.entry_date, entry.event_date) == (date(2026, 12, 1), DAY)
