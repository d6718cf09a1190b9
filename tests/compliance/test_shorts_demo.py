"""The demo firm with the default compliance rules in force: its trades are all booked (none refused by buying
power or held as short), its clients have KYC review dates and beneficial owners, and load_shorts_demo records
the hedge funds' borrows and locates, books their covered short sales and leaves two trades HELD for a person."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from compliance.shorts import selectors
from compliance.shorts.models import Locate
from records.audit.models import AuditRecord
from records.reference.models import Account
from records.trades.models import Trade

pytestmark = [pytest.mark.django_db, pytest.mark.default_rules]


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_demo_trades_are_all_booked_with_the_default_rules_in_force():
    output = run("load_demo", "--trades", "800", "--seed", "5")
    assert "800 created, 0 already there, 0 rejected" in output, output
    assert set(Trade.objects.values_list("status", flat=True)) == {"BOOKED"}


def test_clients_have_kyc_review_dates_one_expired_and_two_share_a_beneficial_owner():
    run("load_demo")
    today = timezone.localdate()
    accounts = {a.code: a for a in Account.objects.all()}
    assert [code for code, a in accounts.items() if a.kyc_review_due and a.kyc_review_due < today] == ["CL-HF-004"]
    assert accounts["CL-HF-004"].status == "SUSPENDED"
    assert all(a.kyc_review_due is None for a in accounts.values() if a.kind == "HOUSE")
    assert all(a.kyc_review_due is not None for a in accounts.values() if a.kind == "CLIENT")
    owners = {code: a.beneficial_owner for code, a in accounts.items() if a.beneficial_owner}
    assert owners == {"CL-FO-001": "Eleanor Hartwell", "CL-FO-003": "Eleanor Hartwell"}


def test_short_sales_are_covered_by_borrows_and_locates_and_two_trades_are_held():
    run("load_demo", "--trades", "200")
    output = run("load_shorts_demo")
    assert "refused" not in output, output
    locates = {loc.reference: loc for loc in Locate.objects.select_related("account", "instrument")}
    assert set(locates) == {"DEMO-SHORT-0001-BORROW", "DEMO-SHORT-0002-LOCATE", "DEMO-SHORT-0003-LOCATE"}
    assert (locates["DEMO-SHORT-0001-BORROW"].kind, locates["DEMO-SHORT-0001-BORROW"].valid_to) == ("BORROW", None)
    assert AuditRecord.objects.filter(record_type="compliance.locate", action="CREATE").count() == 3
    trades = {t.external_ref: t for t in Trade.objects.filter(external_ref__startswith="DEMO-S")}
    trades |= {t.external_ref: t for t in Trade.objects.filter(external_ref="DEMO-FATFINGER-0001")}
    assert {ref: t.status for ref, t in trades.items()} == {
        "DEMO-SHORT-0001": "BOOKED", "DEMO-SHORT-0002": "BOOKED", "DEMO-SHORT-0003": "BOOKED",
        "DEMO-SHORT-0004": "HELD", "DEMO-FATFINGER-0001": "HELD"}
    assert "is short" in trades["DEMO-SHORT-0004"].hold_reasons[0]
    assert "away from the last price" in trades["DEMO-FATFINGER-0001"].hold_reasons[0]
    # Each booked short sale is covered on its trade date by what was recorded for it.
    for ref in ("DEMO-SHORT-0001", "DEMO-SHORT-0002", "DEMO-SHORT-0003"):
        trade = trades[ref]
        key = (trade.account_id, trade.instrument_id)
        covered = selectors.locates_covering(pairs=[key], day=trade.trade_date)[key]
        assert covered["LOCATE"] + covered["BORROW"] > Decimal(0)

    again = run("load_shorts_demo")
    assert "5 already there" in again, again
    assert Locate.objects.count() == 3
    assert Trade.objects.filter(external_ref__startswith="DEMO-SHORT").count() == 4
