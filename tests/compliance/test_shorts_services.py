"""Locates, borrows and the penalty box through the services and selectors: recorded and ended as the restricted
list's entries are (never deleted, what they covered kept), audited; what covers a short sale on a day."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from compliance.shorts import selectors, services
from compliance.shorts.models import Locate, PenaltyBoxEntry
from records.audit.models import AuditRecord

pytestmark = pytest.mark.django_db
LOCATE_RECORD, BOX_RECORD = "compliance.locate", "compliance.penaltyboxentry"


def record(accounts, instruments, *, kind="LOCATE", quantity="5000", reference="LOC-1", valid_from=None,
           valid_to=None, account="ACC-001", instrument="AAPL", source="Prime broker A"):
    with transaction.atomic():
        return services.locate_create(actor="test", account=accounts[account], instrument=instruments[instrument],
                                      kind=kind, quantity=quantity, source=source, reference=reference,
                                      valid_from=valid_from or timezone.localdate(), valid_to=valid_to)


def box(accounts, instruments, *, fail_id=1, account="ACC-001", instrument="AAPL", since=None):
    today = timezone.localdate()
    return PenaltyBoxEntry.objects.create(account=accounts[account], instrument=instruments[instrument],
                                          fail_id=fail_id, close_out_deadline=today - timedelta(days=3),
                                          since=since or today - timedelta(days=2), reason="fail past deadline")


def test_a_locate_is_good_for_its_day_and_a_borrow_until_returned(accounts, instruments):
    today = timezone.localdate()
    locate = record(accounts, instruments)
    borrow = record(accounts, instruments, kind="BORROW", quantity="2500.5", reference="BRW-1",
                    valid_from=today - timedelta(days=3))
    assert (locate.valid_from, locate.valid_to, locate.quantity) == (today, today, Decimal("5000"))
    assert (borrow.valid_to, borrow.quantity) == (None, Decimal("2500.5"))
    audit = AuditRecord.objects.get(record_type=LOCATE_RECORD, record_id=str(locate.pk))
    assert (audit.action, audit.after["reference"]) == ("CREATE", "LOC-1")
    key = (accounts["ACC-001"].pk, instruments["AAPL"].pk)
    assert selectors.locates_covering(pairs=[key], day=today) == {
        key: {"LOCATE": Decimal("5000"), "BORROW": Decimal("2500.5")}}
    # Tomorrow the locate is over, the borrow still covers; before the borrow started nothing did.
    assert selectors.locates_covering(pairs=[key], day=today + timedelta(days=1)) == {
        key: {"LOCATE": Decimal("0"), "BORROW": Decimal("2500.5")}}
    assert selectors.locates_covering(pairs=[key], day=today - timedelta(days=4)) == {}
    assert selectors.locates_covering(pairs=[(accounts["HOUSE"].pk, instruments["AAPL"].pk)], day=today) == {}


def test_totals_per_account_and_instrument_on_a_day(accounts, instruments):
    today = timezone.localdate()
    record(accounts, instruments, quantity="100", reference="L1")
    record(accounts, instruments, quantity="50", reference="L2")
    record(accounts, instruments, kind="BORROW", quantity="30", reference="B1")
    record(accounts, instruments, quantity="7", reference="L3", instrument="MSFT", account="HOUSE")
    record(accounts, instruments, quantity="9", reference="L4", valid_from=today + timedelta(days=1))  # not yet
    assert selectors.locate_totals(day=today) == [
        {"account_code": "ACC-001", "isin": instruments["AAPL"].isin, "name": "Apple Inc.", "located": Decimal("150"),
         "borrowed": Decimal("30"), "total": Decimal("180"), "count": 3},
        {"account_code": "HOUSE", "isin": instruments["MSFT"].isin, "name": "Microsoft", "located": Decimal("7"),
         "borrowed": Decimal("0"), "total": Decimal("7"), "count": 1}]


@pytest.mark.parametrize(("changes", "field"), [
    ({"kind": "LEND"}, "kind"), ({"quantity": "0"}, "quantity"), ({"quantity": "-5"}, "quantity"),
    ({"quantity": 1.5}, "quantity"), ({"quantity": "1.0000001"}, "quantity"), ({"source": " "}, "source"),
    ({"source": "a\x00b"}, "source"), ({"reference": ""}, "reference"), ({"reference": "x" * 101}, "reference"),
    ({"valid_to": date(2026, 1, 1), "valid_from": date(2026, 1, 2)}, "valid_to"),
])
def test_bad_input_is_refused_with_the_field_and_records_nothing(accounts, instruments, changes, field):
    with pytest.raises(BusinessRuleError) as exc:
        record(accounts, instruments, **changes)
    assert exc.value.field == field
    assert not Locate.objects.exists()
    assert not AuditRecord.objects.filter(record_type=LOCATE_RECORD).exists()


def test_a_used_reference_is_a_conflict(accounts, instruments):
    record(accounts, instruments, reference="LOC-1")
    with pytest.raises(ConflictError):
        record(accounts, instruments, reference="LOC-1", kind="BORROW")
    assert Locate.objects.count() == 1


def test_returning_a_borrow_that_had_started_keeps_what_it_covered(accounts, instruments):
    today = timezone.localdate()
    borrow = record(accounts, instruments, kind="BORROW", reference="BRW-1", valid_from=today - timedelta(days=5))
    with transaction.atomic():
        ended = services.locate_end(actor="test", locate_id=borrow.pk, reason="shares returned to lender")
    assert (ended.valid_to, ended.end_reason) == (today - timedelta(days=1), "shares returned to lender")
    assert ended.ended_at is not None
    assert selectors.locate_state(ended, today) == selectors.ENDED
    assert list(selectors.locate_list(active_on=today - timedelta(days=1))) == [ended]
    assert not selectors.locate_list(active_on=today).exists()
    audit = AuditRecord.objects.filter(record_type=LOCATE_RECORD, record_id=str(borrow.pk)).latest("id")
    assert (audit.action, audit.before["valid_to"], audit.reason) == ("UPDATE", None, "shares returned to lender")
    with pytest.raises(ConflictError), transaction.atomic():
        services.locate_end(actor="test", locate_id=borrow.pk, reason="again")


def test_withdrawing_a_locate_of_today_means_it_never_covered_anything(accounts, instruments):
    today = timezone.localdate()
    locate = record(accounts, instruments)
    future = record(accounts, instruments, reference="LOC-2", valid_from=today + timedelta(days=2))
    with transaction.atomic():
        services.locate_end(actor="test", locate_id=locate.pk)
        services.locate_end(actor="test", locate_id=future.pk, reason="lender recalled")
    for row in (locate, future):
        row.refresh_from_db()
        assert selectors.locate_state(row, today) == selectors.WITHDRAWN
    assert (locate.valid_from, locate.valid_to) == (today, today)  # its dates kept
    assert not selectors.locate_list(active_on=today).exists()
    assert not selectors.locate_list(active_on=today + timedelta(days=2)).exists()
    assert set(selectors.locate_list(state=selectors.WITHDRAWN, today=today)) == {locate, future}
    assert set(selectors.locate_list(state=selectors.ENDED, today=today)) == {locate, future}
    assert not selectors.locate_list(state=selectors.CURRENT, today=today).exists()
    withdrawn = AuditRecord.objects.filter(record_type=LOCATE_RECORD, action="UPDATE", reason="locate withdrawn")
    assert withdrawn.count() == 1


def test_a_locate_past_its_last_day_cannot_be_ended(accounts, instruments):
    yesterday = timezone.localdate() - timedelta(days=1)
    locate = record(accounts, instruments, valid_from=yesterday)
    with pytest.raises(ConflictError), transaction.atomic():
        services.locate_end(actor="test", locate_id=locate.pk)
    locate.refresh_from_db()
    assert locate.ended_at is None
    with pytest.raises(BusinessRuleError) as exc, transaction.atomic():
        services.locate_end(actor="test", locate_id=999999)
    assert exc.value.field == "id"


def test_states_on_a_day(accounts, instruments):
    today = timezone.localdate()
    active = record(accounts, instruments, reference="A")
    future = record(accounts, instruments, reference="F", valid_from=today + timedelta(days=1))
    past = record(accounts, instruments, reference="P", valid_from=today - timedelta(days=2))
    assert [selectors.locate_state(x, today) for x in (active, future, past)] == ["ACTIVE", "FUTURE", "ENDED"]
    assert list(selectors.locate_list(state=selectors.ACTIVE, today=today)) == [active]
    assert list(selectors.locate_list(state=selectors.FUTURE, today=today)) == [future]
    assert list(selectors.locate_list(state=selectors.ENDED, today=today)) == [past]
    assert list(selectors.locate_list(kind="BORROW")) == []


def test_releasing_a_penalty_box_entry_is_audited_and_done_once(accounts, instruments):
    entry = box(accounts, instruments)
    other = box(accounts, instruments, fail_id=2, instrument="MSFT")
    key = (accounts["ACC-001"].pk, instruments["AAPL"].pk)
    assert selectors.penalty_box_open_pairs(pairs=[key]) == {key: entry}
    with pytest.raises(BusinessRuleError) as exc, transaction.atomic():
        services.penalty_box_release(actor="test", entry_id=entry.pk, reason=" ")
    assert exc.value.field == "reason"
    with transaction.atomic():
        released = services.penalty_box_release(actor="test", entry_id=entry.pk, reason="bought in, delivered")
    assert (released.released_on, released.release_reason) == (timezone.localdate(), "bought in, delivered")
    audit = AuditRecord.objects.get(record_type=BOX_RECORD, record_id=str(entry.pk))
    assert (audit.action, audit.before["released_on"], audit.reason) == ("UPDATE", None, "bought in, delivered")
    assert selectors.penalty_box_open_pairs(pairs=[key]) == {}
    assert list(selectors.penalty_box_list(is_open=True)) == [other]
    assert list(selectors.penalty_box_list(is_open=False)) == [entry]
    with pytest.raises(ConflictError), transaction.atomic():
        services.penalty_box_release(actor="test", entry_id=entry.pk, reason="again")
    assert AuditRecord.objects.filter(record_type=BOX_RECORD).count() == 1
