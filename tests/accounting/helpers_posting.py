"""What the posting tests share: netting's firm (tests/clearing/helpers_netting.py), prices and FX rates,
posting and valuation runs executed in this process, and the ledger read back by role."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum

from accounting.models import JournalEntry, JournalLine
from accounting.posting import services as posting
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_run_execute
from records.reference.services import reference
from tests.clearing.helpers_netting import SETTLES, TRADE_DATE, Firm, firm
from tests.data import price

D = Decimal


def rate(base: str, quote: str, day: date, value: str) -> None:
    with transaction.atomic():
        reference.fx_rate_upsert(actor="test", base_currency=base, quote_currency=quote, rate_date=day,
                                 rate=D(value))


@pytest.fixture
def books(firm) -> Firm:
    """The firm with prices on the trade date for its four instruments and EUR/USD, GBP/USD rates."""
    with transaction.atomic():
        for symbol, value in (("AAPL", "100"), ("MSFT", "400"), ("SAP", "200"), ("VOD", "1.10")):
            price(firm.instruments[symbol], TRADE_DATE, value)
        rate("EUR", "USD", TRADE_DATE, "1.10")
        rate("GBP", "USD", TRADE_DATE, "1.25")
    return firm


def run(kind: str = posting.POSTING, **params) -> JobRun:
    """Create a run of an accounting kind and execute it here; return it re-read."""
    with transaction.atomic():
        job = job_create(kind=kind, params=params, started_by="test")
    job_run_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobRun.Status.COMPLETED, job.error
    return job


def post() -> JobRun:
    return run(posting.POSTING)


def balances(*, account=None, instrument=None, until: date | None = None) -> dict:
    """Σ amount per (role, currency), non-zero only."""
    lines = JournalLine.objects.all()
    if account is not None:
        lines = lines.filter(account=account)
    if instrument is not None:
        lines = lines.filter(instrument=instrument)
    if until is not None:
        lines = lines.filter(entry_date__lte=until)
    totals = lines.values("gl_account__role", "currency").annotate(total=Sum("amount"))
    return {(row["gl_account__role"], row["currency"]): row["total"] for row in totals if row["total"]}


def investments(account, instrument) -> tuple[Decimal, Decimal]:
    """(quantity, cost) of the investments account for one position."""
    row = JournalLine.objects.filter(account=account, instrument=instrument, gl_account__role="INVESTMENTS").aggregate(
        quantity=Sum("quantity", default=D(0)), cost=Sum("amount", default=D(0)))
    return row["quantity"], row["cost"]


def realized(account=None, instrument=None) -> Decimal:
    lines = JournalLine.objects.filter(gl_account__role="REALIZED_PNL")
    if account is not None:
        lines = lines.filter(account=account)
    if instrument is not None:
        lines = lines.filter(instrument=instrument)
    return -lines.aggregate(total=Sum("amount", default=D(0)))["total"]


def assert_balanced() -> None:
    """Every entry balances per currency and in base; so does the whole ledger."""
    per_entry = defaultdict(D)
    per_entry_base = defaultdict(D)
    for entry_id, currency, amount, base in JournalLine.objects.values_list("entry_id", "currency", "amount",
                                                                             "base_amount"):
        per_entry[(entry_id, currency)] += amount
        per_entry_base[entry_id] += base
    assert not [k for k, v in per_entry.items() if v], "an entry does not balance"
    assert not [k for k, v in per_entry_base.items() if v], "an entry does not balance in base"


def entries(rule: str | None = None):
    qs = JournalEntry.objects.order_by("id")
    return qs.filter(rule=rule) if rule else qs


__all__ = ["SETTLES", "TRADE_DATE", "books", "firm"]
