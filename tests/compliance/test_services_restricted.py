"""The restricted list's services (compliance/restricted/services.py) and selectors.

An entry restricts trade dates effective_from..effective_to. Ending one never deletes it: one that had
started restricts until yesterday; one not started yet is withdrawn. Every create and end is audited;
a refused call changes nothing.
"""

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from compliance.restricted import selectors, services
from compliance.restricted.models import RestrictedInstrument
from records.audit.models import AuditRecord
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
RECORD_TYPE = "compliance.restrictedinstrument"


@pytest.fixture
def officer(db):
    return make_user("officer", "compliance")


def create(officer, instrument, *, reason="Advisory mandate: MNPI", effective_from=date(2026, 11, 1),
           effective_to=None):
    with transaction.atomic():
        return services.restricted_create(actor=officer, instrument=instrument, reason=reason,
                                          effective_from=effective_from, effective_to=effective_to)


def end(officer, entry, reason="Deal announced"):
    with transaction.atomic():
        return services.restricted_end(actor=officer, entry_id=entry.pk, reason=reason)


def audit_of(entry):
    return list(AuditRecord.objects.filter(record_type=RECORD_TYPE, record_id=str(entry.pk)).order_by("id")
                .values_list("action", "actor_label", "reason", "before", "after"))


def test_create_stores_the_entry_and_audits_it(officer, instruments):
    entry = create(officer, instruments["AAPL"], reason="  Advisory mandate: MNPI  ",
                   effective_to=date(2026, 12, 31))
    entry.refresh_from_db()
    assert (entry.instrument_id, entry.reason, entry.effective_from, entry.effective_to, entry.withdrawn,
            entry.created_by, entry.ended_at, entry.end_reason) == (
        instruments["AAPL"].pk, "Advisory mandate: MNPI", date(2026, 11, 1), date(2026, 12, 31), False, officer,
        None, "")
    [(action, actor, reason, before, after)] = audit_of(entry)
    assert (action, actor, reason, before) == ("CREATE", "officer", "Advisory mandate: MNPI", None)
    assert after == {"id": entry.pk, "instrument_id": instruments["AAPL"].pk, "reason": "Advisory mandate: MNPI",
                     "effective_from": "2026-11-01", "effective_to": "2026-12-31", "withdrawn": False,
                     "created_by_id": officer.pk, "ended_by_id": None, "ended_at": None, "end_reason": ""}


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"reason": ""}, "reason", "This field may not be blank."),
    ({"reason": "   "}, "reason", "This field may not be blank."),
    ({"reason": "x" * 501}, "reason", "Ensure this field has no more than 500 characters."),
    ({"reason": "a\x00b"}, "reason", None),
    ({"effective_to": date(2026, 10, 31)}, "effective_to", "Must not be before effective_from."),
])
def test_a_refused_create_names_the_field_and_writes_nothing(officer, instruments, kwargs, field, message):
    audit_before = AuditRecord.objects.count()
    with pytest.raises(BusinessRuleError) as refused:
        create(officer, instruments["AAPL"], **kwargs)
    assert refused.value.field == field
    if message is not None:
        assert refused.value.message == message
    assert not RestrictedInstrument.objects.exists()
    assert AuditRecord.objects.count() == audit_before


def test_the_database_refuses_an_end_before_the_start(instruments):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        RestrictedInstrument.objects.create(instrument=instruments["AAPL"], reason="r",
                                            effective_from=date(2026, 11, 2), effective_to=date(2026, 11, 1))


def test_ending_a_started_entry_restricts_until_yesterday_and_records_who_and_why(officer, instruments):
    today = timezone.localdate()
    entry = create(officer, instruments["AAPL"], effective_from=today - timedelta(days=10))
    ended = end(officer, entry)
    entry.refresh_from_db()
    assert (entry.effective_to, entry.withdrawn, entry.ended_by, entry.end_reason) == (
        today - timedelta(days=1), False, officer, "Deal announced")
    assert entry.ended_at is not None and ended.pk == entry.pk
    assert entry.restricts(today - timedelta(days=1)) and not entry.restricts(today)
    assert entry.state_on(today) == "ENDED"
    created, (action, actor, reason, before, after) = audit_of(entry)
    assert created[0] == "CREATE"
    assert (action, actor, reason) == ("UPDATE", "officer", "Deal announced")
    assert (before["effective_to"], before["ended_by_id"]) == (None, None)
    assert (after["effective_to"], after["ended_by_id"], after["end_reason"]) == (
        (today - timedelta(days=1)).isoformat(), officer.pk, "Deal announced")


@pytest.mark.parametrize("starts_in", [0, 3])
def test_ending_an_entry_that_has_not_started_before_today_withdraws_it(officer, instruments, starts_in):
    today = timezone.localdate()
    start = today + timedelta(days=starts_in)
    entry = create(officer, instruments["AAPL"], effective_from=start, effective_to=start + timedelta(days=5))
    end(officer, entry, reason="Mandate lost")
    entry.refresh_from_db()
    assert (entry.effective_from, entry.effective_to, entry.withdrawn, entry.end_reason) == (
        start, start + timedelta(days=5), True, "Mandate lost")
    assert entry.state_on(today) == "WITHDRAWN"
    assert not any(entry.restricts(start + timedelta(days=n)) for n in range(6))
    assert selectors.restricted_active_on([instruments["AAPL"].pk], start) == {}


def test_ending_an_entry_twice_is_a_conflict_and_changes_nothing(officer, instruments):
    entry = create(officer, instruments["AAPL"], effective_from=timezone.localdate() - timedelta(days=3))
    end(officer, entry)
    entry.refresh_from_db()
    audit_before = AuditRecord.objects.count()
    with pytest.raises(ConflictError, match=f"Restricted-list entry {entry.pk} was already ended on"):
        end(officer, entry, reason="again")
    again = RestrictedInstrument.objects.get(pk=entry.pk)
    assert (again.effective_to, again.end_reason, again.ended_at) == (entry.effective_to, "Deal announced",
                                                                      entry.ended_at)
    assert AuditRecord.objects.count() == audit_before


def test_ending_an_entry_whose_last_day_is_past_is_a_conflict(officer, instruments):
    today = timezone.localdate()
    entry = create(officer, instruments["AAPL"], effective_from=today - timedelta(days=9),
                   effective_to=today - timedelta(days=2))
    with pytest.raises(ConflictError) as refused:
        end(officer, entry)
    assert refused.value.message == (f"Restricted-list entry {entry.pk} already ended on its own: its last day was "
                                     f"{(today - timedelta(days=2)).isoformat()}.")
    entry.refresh_from_db()
    assert (entry.ended_at, entry.withdrawn) == (None, False)


def test_ending_an_entry_that_ends_today_moves_its_last_day_to_yesterday(officer, instruments):
    today = timezone.localdate()
    entry = create(officer, instruments["AAPL"], effective_from=today - timedelta(days=2), effective_to=today)
    end(officer, entry)
    entry.refresh_from_db()
    assert entry.effective_to == today - timedelta(days=1)


def test_ending_an_unknown_entry_is_refused(officer, instruments):
    with pytest.raises(BusinessRuleError) as refused, transaction.atomic():
        services.restricted_end(actor=officer, entry_id=999999, reason="x")
    assert (refused.value.field, refused.value.message) == ("id", "Unknown restricted-list entry 999999.")


def test_active_on_finds_the_entries_restricting_a_day_in_one_query(officer, instruments,
                                                                     django_assert_num_queries):
    aapl, msft, sap = instruments["AAPL"], instruments["MSFT"], instruments["SAP"]
    first = create(officer, aapl, effective_from=date(2026, 11, 1), effective_to=date(2026, 11, 19))
    second = create(officer, aapl, reason="Second mandate", effective_from=date(2026, 11, 10))
    create(officer, msft, effective_from=date(2026, 11, 21))
    with django_assert_num_queries(1):
        found = selectors.restricted_active_on([aapl.pk, msft.pk, sap.pk], date(2026, 11, 19))
    assert {k: [e.pk for e in v] for k, v in found.items()} == {aapl.pk: [first.pk, second.pk]}
    found = selectors.restricted_active_on([aapl.pk, msft.pk, sap.pk], date(2026, 11, 20))
    assert {k: [e.pk for e in v] for k, v in found.items()} == {aapl.pk: [second.pk]}
    assert selectors.restricted_active_on([], date(2026, 11, 20)) == {}


def test_the_list_filters_by_instrument_day_and_state(officer, instruments):
    today = timezone.localdate()
    aapl, msft = instruments["AAPL"], instruments["MSFT"]
    past = create(officer, aapl, effective_from=today - timedelta(days=9), effective_to=today - timedelta(days=2))
    current = create(officer, aapl, effective_from=today - timedelta(days=1))
    future = create(officer, msft, effective_from=today + timedelta(days=2))
    withdrawn = create(officer, msft, effective_from=today + timedelta(days=1))
    end(officer, withdrawn)

    def ids(**filters):
        return [e.pk for e in selectors.restricted_list(**filters)]

    assert ids() == [future.pk, withdrawn.pk, current.pk, past.pk]
    assert ids(instrument=aapl) == [current.pk, past.pk]
    assert ids(active_on=today) == [current.pk]
    assert ids(active_on=today - timedelta(days=2)) == [past.pk]
    assert ids(state="ACTIVE", today=today) == [current.pk]
    assert ids(state="FUTURE", today=today) == [future.pk]
    assert ids(state="CURRENT", today=today) == [future.pk, current.pk]
    assert ids(state="ENDED", today=today) == [withdrawn.pk, past.pk]
