"""Manual journal entries and reversals under maker-checker: posted only when another accounting user approves."""

from datetime import date
from decimal import Decimal

import pytest

from accounting.journals.kinds import JOURNAL_MANUAL, JOURNAL_REVERSAL
from accounting.journals.validators import ManualEntryInvalid, manual_entry_parse
from accounting.models import JournalEntry, JournalLine, Period
from accounting.periods.services import period_close
from backoffice.core.exceptions import BusinessRuleError, ConflictError, ForbiddenError
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.reference.models import FxRate
from tests.accounting.factories import post_entry
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 16)


@pytest.fixture
def maker(db):
    return make_user("maker", "accounting")


@pytest.fixture
def checker(db):
    return make_user("checker", "accounting")


def manual(**overrides):
    payload = {"entry_date": DAY.isoformat(), "currency": "USD", "description": "accrue audit fee",
               "lines": [{"gl_account": "5100", "debit": "1200.50"}, {"gl_account": "2150", "credit": "1200.50"}]}
    payload.update(overrides)
    return payload


def ledger():
    return (JournalEntry.objects.count(), JournalLine.objects.count())


def errors_of(payload) -> dict:
    with pytest.raises(ManualEntryInvalid) as caught:
        manual_entry_parse(payload)
    return caught.value.errors


def test_a_manual_entry_posts_only_when_another_accounting_user_approves_it(maker, checker, accounts):
    change = approvals.change_propose(actor=maker, kind=JOURNAL_MANUAL, payload=manual(account="ACC-001"),
                                      reason="audit fee for November")
    assert ledger() == (0, 0)
    with pytest.raises(ForbiddenError):
        approvals.change_approve(actor=maker, change_id=change.pk)
    assert ledger() == (0, 0)

    change = approvals.change_approve(actor=checker, change_id=change.pk)

    assert change.status == ChangeRequest.Status.APPROVED, change.result
    entry = JournalEntry.objects.get()
    assert (entry.source_type, entry.source_id, entry.rule, entry.entry_date, entry.posted_by, entry.account.code) == (
        "MANUAL", change.pk, "MANUAL", DAY, checker, "ACC-001")
    assert change.result == {"journal_entry": entry.pk, "entry_date": "2026-11-16"}
    lines = list(entry.lines.order_by("id").values_list("gl_account__code", "amount", "base_amount", "fx_rate",
                                                        "account__code"))
    assert lines == [("5100", Decimal("1200.50"), Decimal("1200.50"), Decimal(1), "ACC-001"),
                     ("2150", Decimal("-1200.50"), Decimal("-1200.50"), Decimal(1), "ACC-001")]
    audit = AuditRecord.objects.get(record_type="accounting.journalentry", record_id=str(entry.pk))
    assert audit.actor == checker and audit.after["debits"] == "1200.5"


def test_a_eur_entry_takes_its_base_amounts_at_the_rate_on_or_before_its_date(maker, checker):
    FxRate.objects.create(base_currency="EUR", quote_currency="USD", rate=Decimal("1.0812"),
                          rate_date=date(2026, 11, 13), source="ECB")
    change = approvals.change_propose(actor=maker, kind=JOURNAL_MANUAL, reason="fee", payload=manual(
        currency="EUR", lines=[{"gl_account": "5100", "debit": "10"}, {"gl_account": "5200", "debit": "0.01"},
                               {"gl_account": "2150", "credit": "10.01"}]))
    approvals.change_approve(actor=checker, change_id=change.pk)
    lines = list(JournalLine.objects.order_by("id").values_list("amount", "base_amount", "fx_rate"))
    # 10.01 x 1.0812 = 10.822812 -> -10.8228; the debits 10.812 + 0.0108 = 10.8228 balance in base exactly.
    assert lines == [(Decimal("10"), Decimal("10.812"), Decimal("1.0812")),
                     (Decimal("0.01"), Decimal("0.0108"), Decimal("1.0812")),
                     (Decimal("-10.01"), Decimal("-10.8228"), Decimal("1.0812"))]


def test_lines_may_each_name_their_own_trading_account(maker, checker, accounts, instruments):
    change = approvals.change_propose(actor=maker, kind=JOURNAL_MANUAL, reason="misposted deposit", payload=manual(
        lines=[{"gl_account": "2300", "debit": "50", "account": "ACC-001"},
               {"gl_account": "2300", "credit": "50", "account": "HOUSE", "instrument": "US0378331005"}]))
    approvals.change_approve(actor=checker, change_id=change.pk)
    assert list(JournalLine.objects.order_by("id").values_list("account__code", "instrument__isin")) == [
        ("ACC-001", None), ("HOUSE", "US0378331005")]


def test_an_unbalanced_entry_is_refused_with_its_difference_and_nothing_is_proposed(maker):
    payload = manual(lines=[{"gl_account": "5100", "debit": "100"}, {"gl_account": "2150", "credit": "90"}])
    assert errors_of(payload) == {"lines": ["Debits 100 and credits 90 do not balance (difference 10)."]}
    with pytest.raises(BusinessRuleError, match="do not balance"):
        approvals.change_propose(actor=maker, kind=JOURNAL_MANUAL, payload=payload, reason="x")
    assert ChangeRequest.objects.count() == 0 and ledger() == (0, 0)


def test_an_unknown_currency_is_refused():
    assert errors_of(manual(currency="XYZ")) == {"currency": ["Unknown ISO 4217 currency code: 'XYZ'."]}


def test_a_currency_without_an_fx_rate_for_the_date_is_refused():
    FxRate.objects.create(base_currency="EUR", quote_currency="USD", rate=Decimal("1.08"), rate_date=date(2026, 11, 17),
                          source="ECB")  # the day after: no rate on or before the entry date
    assert errors_of(manual(currency="EUR")) == {
        "currency": ["Cannot convert to USD: no EUR/USD FX rate on or before 2026-11-16."]}


def test_every_line_error_is_reported_at_its_line():
    FxRate.objects.all().delete()
    errors = errors_of(manual(lines=[{"gl_account": "9999", "debit": "1"}, {"gl_account": "1000", "credit": "1"},
                                     {"gl_account": "1100", "debit": "1", "credit": "1"},
                                     {"gl_account": "1100", "debit": "-5"}, {"gl_account": "1100", "debit": 0.1}]))
    assert errors["lines"][0] == {"gl_account": ["Unknown GL account '9999'."]}
    assert errors["lines"][1] == {"gl_account": ["1000 Assets is a heading: post to one of its accounts."]}
    assert errors["lines"][2] == {"debit": ["Give a debit or a credit, not both."]}
    assert list(errors["lines"][3]) == ["debit"] and list(errors["lines"][4]) == ["debit"]


def test_an_entry_needs_two_lines_and_known_fields():
    assert errors_of(manual(lines=[{"gl_account": "1100", "debit": "1"}])) == {
        "lines": ["An entry needs at least two lines: a debit and a credit."]}
    assert "amount" in errors_of(manual(amount="1"))
    assert set(errors_of({})) == {"entry_date", "currency", "description", "lines"}


def test_an_inactive_gl_account_takes_no_manual_entry():
    from accounting.models import GLAccount
    GLAccount.objects.filter(code="5200").update(is_active=False)
    assert errors_of(manual(lines=[{"gl_account": "5200", "debit": "1"}, {"gl_account": "2150", "credit": "1"}])) == {
        "lines": [{"gl_account": ["5200 Fail penalty expense is inactive: it takes no manual entries."]}, {}]}


def test_an_entry_dated_in_a_closed_period_is_refused_naming_the_period(maker):
    period_close(actor=maker, month=date(2026, 11, 1))
    assert errors_of(manual()) == {"entry_date": [
        "The period 2026-11 is closed: it takes no entries. Date the entry in an open period, or have 2026-11 "
        "reopened (Periods)."]}
    assert ledger() == (0, 0)


def test_an_approved_entry_whose_period_closed_meanwhile_fails_and_posts_nothing(maker, checker):
    change = approvals.change_propose(actor=maker, kind=JOURNAL_MANUAL, payload=manual(), reason="fee")
    period_close(actor=checker, month=DAY)
    change = approvals.change_approve(actor=checker, change_id=change.pk)
    assert change.status == ChangeRequest.Status.FAILED
    assert "2026-11 is closed" in change.result["error"]
    assert ledger() == (0, 0)


# Reversals ---------------------------------------------------------------------------------------

def approved_manual_entry(maker, checker) -> JournalEntry:
    change = approvals.change_propose(actor=maker, kind=JOURNAL_MANUAL, payload=manual(), reason="fee")
    approvals.change_approve(actor=checker, change_id=change.pk)
    return JournalEntry.objects.get(source_type="MANUAL", source_id=change.pk)


def test_a_reversal_posts_the_mirror_entry_when_approved(maker, checker):
    original = approved_manual_entry(maker, checker)
    change = approvals.change_propose(actor=checker, kind=JOURNAL_REVERSAL, reason="booked twice",
                                      payload={"entry": original.pk, "entry_date": "2026-11-20"})
    assert JournalEntry.objects.count() == 1
    change = approvals.change_approve(actor=maker, change_id=change.pk)
    assert change.status == ChangeRequest.Status.APPROVED, change.result
    reversal = JournalEntry.objects.get(reversal_of=original)
    assert (reversal.source_type, reversal.source_id, reversal.rule, reversal.entry_date) == (
        "MANUAL", original.pk, "MANUAL_REVERSAL", date(2026, 11, 20))
    assert list(reversal.lines.order_by("id").values_list("gl_account__code", "amount", "base_amount")) == [
        ("5100", Decimal("-1200.50"), Decimal("-1200.50")), ("2150", Decimal("1200.50"), Decimal("1200.50"))]


def test_an_entry_reversed_already_cannot_be_reversed_again(maker, checker):
    original = approved_manual_entry(maker, checker)
    change = approvals.change_propose(actor=checker, kind=JOURNAL_REVERSAL, reason="x", payload={"entry": original.pk})
    with pytest.raises(ConflictError, match="already awaiting approval"):
        approvals.change_propose(actor=maker, kind=JOURNAL_REVERSAL, reason="x", payload={"entry": original.pk})
    approvals.change_approve(actor=maker, change_id=change.pk)
    with pytest.raises(ConflictError, match="already reversed"):
        approvals.change_propose(actor=maker, kind=JOURNAL_REVERSAL, reason="x", payload={"entry": original.pk})
    assert JournalEntry.objects.count() == 2


def test_an_entry_of_the_posting_engine_is_not_reversed_by_hand(maker):
    entry = post_entry(lines=[("CASH", "5"), ("ACCOUNT_FUNDS", "-5")], entry_date=DAY, source_type="CASH",
                       rule="CASH_FUNDS")
    with pytest.raises(ConflictError, match="posting engine"):
        approvals.change_propose(actor=maker, kind=JOURNAL_REVERSAL, reason="x", payload={"entry": entry.pk})
    assert ChangeRequest.objects.count() == 0


def test_a_reversal_dated_before_the_entry_or_in_a_closed_period_is_refused(maker, checker):
    original = approved_manual_entry(maker, checker)
    with pytest.raises(BusinessRuleError, match="Not before"):
        approvals.change_propose(actor=maker, kind=JOURNAL_REVERSAL, reason="x",
                                 payload={"entry": original.pk, "entry_date": "2026-11-01"})
    Period.objects.create(start=date(2026, 12, 1), end=date(2026, 12, 31), status=Period.Status.CLOSED)
    with pytest.raises(BusinessRuleError, match="2026-12 is closed"):
        approvals.change_propose(actor=maker, kind=JOURNAL_REVERSAL, reason="x",
                                 payload={"entry": original.pk, "entry_date": "2026-12-03"})
    assert JournalEntry.objects.count() == 1
