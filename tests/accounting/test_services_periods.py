"""Closing a month at once, reopening it under maker-checker; a closed month takes no entries."""

from datetime import date

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounting.models import Period
from accounting.periods.kinds import PERIOD_REOPEN
from accounting.periods.selectors import add_months, month_start, period_months
from accounting.periods.services import period_close
from accounting.posting.books import PeriodBook
from backoffice.core.exceptions import BusinessRuleError, ConflictError, ForbiddenError
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from tests.accounting.factories import post_entry
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

OCTOBER = date(2026, 10, 1)


@pytest.fixture
def maker(db):
    return make_user("maker", "accounting")


@pytest.fixture
def checker(db):
    return make_user("checker", "accounting")


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: date(2026, 11, 18))


def test_closing_a_month_creates_its_period_closed_and_audits_it(maker):
    period = period_close(actor=maker, month=date(2026, 10, 17), reason="October books done")
    period.refresh_from_db()
    assert (period.start, period.end, period.status, period.closed_by) == (OCTOBER, date(2026, 10, 31), "CLOSED",
                                                                           maker)
    audit = AuditRecord.objects.get(record_type="accounting.period", record_id=str(period.pk))
    assert (audit.action, audit.actor, audit.reason, audit.after["status"]) == ("TRANSITION", maker,
                                                                                 "October books done", "CLOSED")
    assert PeriodBook.load().posting_date(date(2026, 10, 20)) == date(2026, 11, 1)


def test_the_current_month_may_close_but_not_a_future_one(maker):
    assert period_close(actor=maker, month=date(2026, 11, 1)).status == "CLOSED"
    with pytest.raises(BusinessRuleError, match="has not begun"):
        period_close(actor=maker, month=date(2026, 12, 1))
    assert not Period.objects.filter(start=date(2026, 12, 1)).exists()


def test_closing_a_closed_month_is_a_conflict_and_changes_nothing(maker, checker):
    period = period_close(actor=maker, month=OCTOBER)
    with pytest.raises(ConflictError, match="already closed"):
        period_close(actor=checker, month=OCTOBER)
    period.refresh_from_db()
    assert period.closed_by == maker
    assert AuditRecord.objects.filter(record_type="accounting.period").count() == 1


def test_the_database_refuses_an_entry_in_a_closed_month(maker):
    period_close(actor=maker, month=OCTOBER)
    from accounting.models import JournalEntry
    with pytest.raises(DatabaseError, match="closed"), transaction.atomic():
        JournalEntry.objects.create(entry_date=date(2026, 10, 5), event_date=date(2026, 10, 5), source_type="MANUAL",
                                    source_id=1, rule="X", currency="USD", description="x", posted_at=timezone.now())


def test_a_month_reopens_only_when_another_accounting_user_approves(maker, checker):
    period_close(actor=maker, month=OCTOBER)
    change = approvals.change_propose(actor=maker, kind=PERIOD_REOPEN, payload={"month": "2026-10"},
                                      reason="late invoice")
    assert change.before["status"] == "CLOSED"
    with pytest.raises(ForbiddenError):
        approvals.change_approve(actor=maker, change_id=change.pk)
    assert Period.objects.get(start=OCTOBER).status == "CLOSED"
    change = approvals.change_approve(actor=checker, change_id=change.pk)
    assert change.status == ChangeRequest.Status.APPROVED, change.result
    period = Period.objects.get(start=OCTOBER)
    assert (period.status, period.closed_at, period.closed_by) == ("OPEN", None, None)
    assert AuditRecord.objects.filter(record_type="accounting.period", actor=checker, after__status="OPEN").exists()


def test_reopening_an_open_month_is_a_conflict(maker):
    with pytest.raises(ConflictError, match="is open"):
        approvals.change_propose(actor=maker, kind=PERIOD_REOPEN, payload={"month": "2026-10"}, reason="x")
    with pytest.raises(BusinessRuleError, match="YYYY-MM"):
        approvals.change_propose(actor=maker, kind=PERIOD_REOPEN, payload={"month": "2026-13"}, reason="x")
    assert ChangeRequest.objects.count() == 0


def test_the_last_24_months_show_their_status_entries_and_debits(maker):
    post_entry(lines=[("CASH", "100"), ("ACCOUNT_FUNDS", "-100")], entry_date=date(2026, 10, 5))
    post_entry(lines=[("CASH", "25.5"), ("ACCOUNT_FUNDS", "-25.5")], entry_date=date(2026, 10, 31))
    period_close(actor=maker, month=OCTOBER)
    rows = period_months(today=date(2026, 11, 18))
    assert len(rows) == 24 and rows[0].month == "2026-11" and rows[-1].month == "2024-12"
    october = rows[1]
    assert (october.month, october.period.status, october.entries, october.debits) == ("2026-10", "CLOSED", 2,
                                                                                       125.5)
    assert (rows[0].period.status, rows[0].entries) == ("OPEN", 0)


def test_month_arithmetic():
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 1)
    assert add_months(date(2026, 11, 30), 2) == date(2027, 1, 1)
    assert month_start(date(2026, 2, 28)) == date(2026, 2, 1)
