"""The steps of an alert's case: each allowed only from the states that allow it (409 otherwise), each with its
event in the history and its audit record (before and after), bad input refused (400) with nothing changed."""

import pytest
from django.db import IntegrityError, transaction

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from compliance.alerts import services
from compliance.alerts.models import Alert, AlertEvent
from records.audit.models import AuditRecord
from tests.compliance.alerts_data import raise_alerts
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(db):
    return make_user("officer", "compliance")


@pytest.fixture
def senior(db):
    return make_user("senior", "compliance")


def _audits(alert):
    return list(AuditRecord.objects.filter(record_type="compliance.alert", record_id=str(alert.pk))
                .exclude(action="CREATE").order_by("id"))


def _events(alert):
    return list(AlertEvent.objects.filter(alert=alert).order_by("at", "id")
                .values_list("action", "from_state", "to_state"))


def test_a_case_from_open_to_closed_records_every_step_in_history_and_audit(officer, senior):
    alert = raise_alerts(1)[0]
    services.alert_assign(actor=officer, alert_id=alert.pk, owner="senior")
    alert.refresh_from_db()
    assert (alert.state, alert.owner) == ("OPEN", senior)  # assigning keeps it open

    services.alert_investigate(actor=senior, alert_id=alert.pk)
    services.alert_note(actor=senior, alert_id=alert.pk, note="Asked the desk for the order tickets.")
    services.alert_escalate(actor=senior, alert_id=alert.pk, note="Same beneficial owner on both sides.")
    alert.refresh_from_db()
    assert alert.state == "ESCALATED" and alert.escalated_at is not None

    services.alert_close(actor=officer, alert_id=alert.pk, disposition="Reported to the MLRO.\nSAR filed 2026-12-02.")
    alert.refresh_from_db()
    assert alert.state == "CLOSED" and alert.closed_at is not None
    assert alert.disposition == "Reported to the MLRO.\nSAR filed 2026-12-02."

    assert _events(alert) == [("OPEN", "", "OPEN"), ("ASSIGN", "OPEN", "OPEN"),
                              ("INVESTIGATE", "OPEN", "INVESTIGATING"), ("NOTE", "INVESTIGATING", "INVESTIGATING"),
                              ("ESCALATE", "INVESTIGATING", "ESCALATED"), ("CLOSE", "ESCALATED", "CLOSED")]
    audits = _audits(alert)
    assert [(a.action, a.actor_label, a.before["state"], a.after["state"]) for a in audits] == [
        ("UPDATE", "officer", "OPEN", "OPEN"), ("TRANSITION", "senior", "OPEN", "INVESTIGATING"),
        ("UPDATE", "senior", "INVESTIGATING", "INVESTIGATING"), ("TRANSITION", "senior", "INVESTIGATING", "ESCALATED"),
        ("TRANSITION", "officer", "ESCALATED", "CLOSED")]
    assert audits[0].before["owner_id"] is None and audits[0].after["owner_id"] == senior.pk
    assert audits[-1].before["disposition"] == "" and audits[-1].after["disposition"].startswith("Reported")
    assert audits[2].reason == "note: Asked the desk for the order tickets."


def test_investigating_makes_the_actor_owner_only_when_there_is_none(officer, senior):
    first, second = raise_alerts(2)
    services.alert_investigate(actor=officer, alert_id=first.pk)
    services.alert_assign(actor=officer, alert_id=second.pk, owner=senior)
    services.alert_investigate(actor=officer, alert_id=second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.owner) == ("INVESTIGATING", officer)
    assert (second.state, second.owner) == ("INVESTIGATING", senior)


def test_reopen_takes_a_closed_alert_back_into_investigation_and_the_history_keeps_the_disposition(officer):
    alert = raise_alerts(1)[0]
    services.alert_close(actor=officer, alert_id=alert.pk, disposition="False positive: a client rebalance.")
    services.alert_reopen(actor=officer, alert_id=alert.pk, reason="Same pattern again the next day.")
    alert.refresh_from_db()
    assert (alert.state, alert.disposition, alert.closed_at) == ("INVESTIGATING", "", None)
    close = AlertEvent.objects.get(alert=alert, action="CLOSE")
    assert close.note == "False positive: a client rebalance."
    assert _events(alert)[-1] == ("REOPEN", "CLOSED", "INVESTIGATING")
    assert _audits(alert)[-1].before["state"] == "CLOSED"


@pytest.mark.parametrize(("state", "step"), [
    ("INVESTIGATING", "investigate"), ("ESCALATED", "investigate"), ("CLOSED", "investigate"),
    ("ESCALATED", "escalate"), ("CLOSED", "escalate"),
    ("CLOSED", "close"), ("CLOSED", "assign"),
    ("OPEN", "reopen"), ("INVESTIGATING", "reopen"), ("ESCALATED", "reopen"),
])
def test_a_step_the_state_forbids_is_a_conflict_and_changes_nothing(officer, state, step):
    alert = raise_alerts(1)[0]
    Alert.objects.filter(pk=alert.pk).update(state=state, disposition="done" if state == "CLOSED" else "")
    calls = {
        "investigate": lambda: services.alert_investigate(actor=officer, alert_id=alert.pk),
        "escalate": lambda: services.alert_escalate(actor=officer, alert_id=alert.pk, note="why"),
        "close": lambda: services.alert_close(actor=officer, alert_id=alert.pk, disposition="done again"),
        "assign": lambda: services.alert_assign(actor=officer, alert_id=alert.pk, owner=officer),
        "reopen": lambda: services.alert_reopen(actor=officer, alert_id=alert.pk, reason="why"),
    }
    with pytest.raises(ConflictError):
        calls[step]()
    alert.refresh_from_db()
    assert alert.state == state and alert.owner_id is None
    assert AlertEvent.objects.filter(alert=alert).count() == 1 and _audits(alert) == []


@pytest.mark.parametrize("disposition", ["", "   ", "\n\t", "found\x00it", "x" * 2001, 12, None])
def test_closing_needs_a_real_disposition(officer, disposition):
    alert = raise_alerts(1)[0]
    with pytest.raises(BusinessRuleError) as error:
        services.alert_close(actor=officer, alert_id=alert.pk, disposition=disposition)
    assert error.value.field == "disposition" and not isinstance(error.value, ConflictError)
    alert.refresh_from_db()
    assert alert.state == "OPEN" and _audits(alert) == []


def test_a_disposition_of_the_longest_length_allowed_is_taken(officer):
    alert = raise_alerts(1)[0]
    services.alert_close(actor=officer, alert_id=alert.pk, disposition="x" * 2000)
    alert.refresh_from_db()
    assert alert.state == "CLOSED" and len(alert.disposition) == 2000


def test_the_database_refuses_a_closed_alert_without_disposition():
    alert = raise_alerts(1)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.filter(pk=alert.pk).update(state="CLOSED", disposition="")


@pytest.mark.parametrize("note", ["", "  ", "a\x00b"])
def test_escalating_needs_a_note(officer, note):
    alert = raise_alerts(1)[0]
    with pytest.raises(BusinessRuleError) as error:
        services.alert_escalate(actor=officer, alert_id=alert.pk, note=note)
    assert error.value.field == "note"
    alert.refresh_from_db()
    assert alert.state == "OPEN"


def test_an_alert_is_assigned_only_to_a_compliance_officer(officer):
    alert = raise_alerts(1)[0]
    make_user("ops", "operations")
    inactive = make_user("gone", "compliance")
    inactive.is_active = False
    inactive.save()
    for owner in ("ops", "nobody", "gone", "", 7, None):
        with pytest.raises(BusinessRuleError) as error:
            services.alert_assign(actor=officer, alert_id=alert.pk, owner=owner)
        assert error.value.field == "owner" and not isinstance(error.value, ConflictError)
    alert.refresh_from_db()
    assert alert.owner_id is None and _audits(alert) == []


def test_reassigning_is_allowed_until_closed_and_assigning_to_the_owner_changes_nothing(officer, senior):
    alert = raise_alerts(1)[0]
    services.alert_escalate(actor=officer, alert_id=alert.pk, note="big")
    services.alert_assign(actor=officer, alert_id=alert.pk, owner="officer")
    services.alert_assign(actor=officer, alert_id=alert.pk, owner="senior")
    services.alert_assign(actor=officer, alert_id=alert.pk, owner="senior")
    alert.refresh_from_db()
    assert (alert.state, alert.owner) == ("ESCALATED", senior)
    assert [e[0] for e in _events(alert)] == ["OPEN", "ESCALATE", "ASSIGN", "ASSIGN"]


def test_an_unknown_alert_is_a_bad_request(officer):
    with pytest.raises(BusinessRuleError) as error:
        services.alert_close(actor=officer, alert_id=999999, disposition="x")
    assert error.value.field == "id" and not isinstance(error.value, ConflictError)


def test_bulk_assign_updates_the_open_ones_skips_the_closed_and_counts_both(officer, senior,
                                                                            django_assert_max_num_queries):
    alerts = raise_alerts(5)
    services.alert_close(actor=officer, alert_id=alerts[0].pk, disposition="dup")
    services.alert_assign(actor=officer, alert_id=alerts[1].pk, owner=senior)
    ids = [a.pk for a in alerts]
    with django_assert_max_num_queries(12):
        result = services.alerts_assign_bulk(actor=officer, alert_ids=ids, owner="senior")
    assert result.assigned == ids[2:] and result.unchanged == [ids[1]] and result.skipped_closed == [ids[0]]
    owners = dict(Alert.objects.filter(pk__in=ids).values_list("pk", "owner__username"))
    assert owners == {ids[0]: None, ids[1]: "senior", ids[2]: "senior", ids[3]: "senior", ids[4]: "senior"}
    for alert in alerts[2:]:
        assert _events(alert)[-1] == ("ASSIGN", "OPEN", "OPEN")
        (audit,) = _audits(alert)
        assert audit.before["owner_id"] is None and audit.after["owner_id"] == senior.pk
        assert audit.reason == "assigned to senior (bulk)"
    assert len(_audits(alerts[1])) == 1  # only its single assignment


def test_bulk_assign_queries_do_not_grow_with_the_number_of_alerts(officer, django_assert_max_num_queries):
    few, many = raise_alerts(2, start=1), raise_alerts(60, start=100)
    with django_assert_max_num_queries(12) as small:
        services.alerts_assign_bulk(actor=officer, alert_ids=[a.pk for a in few], owner=officer)
    with django_assert_max_num_queries(12) as large:
        services.alerts_assign_bulk(actor=officer, alert_ids=[a.pk for a in many], owner=officer)
    # (60 rows go by COPY, which the capture does not count; the role lookup is cached on the user after the first)
    assert len(large.captured_queries) <= len(small.captured_queries)
    assert Alert.objects.filter(owner=officer).count() == 62


@pytest.mark.parametrize("ids", [[], [999999], "1,2", [True], [1.5]])
def test_bulk_assign_refuses_bad_ids_and_changes_nothing(officer, ids):
    alert = raise_alerts(1)[0]
    with pytest.raises(BusinessRuleError) as error:
        services.alerts_assign_bulk(actor=officer, alert_ids=ids if ids != [999999] else [alert.pk, 999999],
                                    owner=officer)
    assert error.value.field == "ids"
    alert.refresh_from_db()
    assert alert.owner_id is None
