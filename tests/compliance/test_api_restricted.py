"""The restricted list's API (API.md "Compliance"): GET and POST /api/v1/compliance/restricted-list/, GET and
DELETE .../{id}/. Compliance writes, operations and accounting read, front office is refused; bad input is a
400 naming the field, never a 500; a refused request changes nothing.
"""

import json
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from compliance.restricted import services
from compliance.restricted.models import RestrictedInstrument
from records.audit.models import AuditRecord
from tests.conftest import APPLE, MICROSOFT

pytestmark = pytest.mark.django_db
URL = "/api/v1/compliance/restricted-list/"
RECORD_TYPE = "compliance.restrictedinstrument"


def post(client, data, url=URL):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def delete(client, entry_id, data=None):
    if data is None:
        return client.delete(f"{URL}{entry_id}/")
    return client.delete(f"{URL}{entry_id}/", data=json.dumps(data), content_type="application/json")


def restrict(instrument, effective_from, effective_to=None, reason="Advisory mandate"):
    with transaction.atomic():
        return services.restricted_create(actor="test", instrument=instrument, reason=reason,
                                          effective_from=effective_from, effective_to=effective_to)


def state():
    return (list(RestrictedInstrument.objects.order_by("id").values()),
            AuditRecord.objects.filter(record_type=RECORD_TYPE).count())


BODY = {"instrument": APPLE, "reason": "Advisory mandate: MNPI", "effective_from": "2026-11-01",
        "effective_to": "2026-12-31"}


def test_compliance_adds_an_entry_and_gets_it_back(compliance_client, compliance_user, instruments):
    response = post(compliance_client, BODY)
    assert response.status_code == 201, response.content
    out = response.json()
    entry = RestrictedInstrument.objects.get()
    assert out == {"id": entry.pk, "instrument": APPLE, "instrument_name": "Apple Inc.",
                   "reason": "Advisory mandate: MNPI", "effective_from": "2026-11-01", "effective_to": "2026-12-31",
                   "withdrawn": False, "created_by": "comp", "created_at": out["created_at"], "ended_by": None,
                   "ended_at": None, "end_reason": ""}
    assert entry.created_by == compliance_user
    assert AuditRecord.objects.get(record_type=RECORD_TYPE, record_id=str(entry.pk)).action == "CREATE"
    assert compliance_client.get(f"{URL}{entry.pk}/").json() == out


def test_effective_to_is_optional(compliance_client, instruments):
    response = post(compliance_client, {"instrument": APPLE, "reason": "r", "effective_from": "2026-11-01"})
    assert response.status_code == 201 and response.json()["effective_to"] is None


@pytest.mark.parametrize(("overrides", "errors"), [
    ({"instrument": "US0000000000"}, {"instrument": ["Unknown instrument 'US0000000000' (give its ISIN)."]}),
    ({"instrument": "US\x0078331005"}, {"instrument": ["Must not contain control characters."]}),
    ({"instrument": 12}, {"instrument": ["Not a valid string."]}),
    ({"effective_from": "2026-11-31"}, {"effective_from": None}),
    ({"effective_from": "20261101"}, {"effective_from": None}),
    ({"effective_to": "2026-13-01"}, {"effective_to": None}),
    ({"effective_to": "2026-10-31"}, {"effective_to": ["Must not be before effective_from."]}),
    ({"reason": ""}, {"reason": ["This field may not be blank."]}),
    ({"reason": "   "}, {"reason": ["This field may not be blank."]}),
    ({"reason": "x" * 501}, {"reason": ["Ensure this field has no more than 500 characters."]}),
    ({"reason": "a\x00b"}, {"reason": None}),
    ({"surprise": 1}, {"surprise": None}),
])
def test_bad_input_is_a_400_naming_the_field_and_adds_nothing(compliance_client, instruments, overrides, errors):
    before = state()
    response = post(compliance_client, {**BODY, **overrides})
    assert response.status_code == 400, response.content
    out = response.json()
    assert set(out) == set(errors)
    for field, messages in errors.items():
        if messages is not None:
            assert out[field] == messages
    assert state() == before


@pytest.mark.parametrize("data", [[], "text", None, {"instrument": APPLE}])
def test_a_body_that_is_not_an_entry_is_a_400(compliance_client, instruments, data):
    response = post(compliance_client, data)
    assert response.status_code == 400
    assert not RestrictedInstrument.objects.exists()


def test_the_list_is_paginated_and_filters_by_instrument_and_day(ops_client, instruments):
    first = restrict(instruments["AAPL"], date(2026, 11, 1), date(2026, 11, 10))
    second = restrict(instruments["AAPL"], date(2026, 11, 15))
    third = restrict(instruments["MSFT"], date(2026, 11, 5), date(2026, 11, 20), reason="Watch list")
    out = ops_client.get(URL).json()
    assert (out["count"], out["next"], out["previous"]) == (3, None, None)
    assert [r["id"] for r in out["results"]] == [second.pk, third.pk, first.pk]
    assert [r["id"] for r in ops_client.get(f"{URL}?instrument={APPLE}").json()["results"]] == [second.pk, first.pk]
    assert [r["id"] for r in ops_client.get(f"{URL}?active_on=2026-11-10").json()["results"]] == [third.pk, first.pk]
    assert [r["id"] for r in ops_client.get(f"{URL}?instrument={MICROSOFT}&active_on=2026-11-21").json()[
        "results"]] == []
    page = ops_client.get(f"{URL}?page_size=2&page=2").json()
    assert (page["count"], [r["id"] for r in page["results"]]) == (3, [first.pk])


@pytest.mark.parametrize("query", ["active_on=2026-11-31", "active_on=20261101", "active_on=", "page_size=x",
                                   "active_on=2026-11-01&active_on=2026-11-02"])
def test_a_malformed_query_is_a_400(ops_client, instruments, query):
    response = ops_client.get(f"{URL}?{query}")
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("query", ["instrument=a%00b", "active_on=a%00b"])
def test_a_nul_in_a_query_is_refused_or_matches_nothing(ops_client, instruments, query):
    response = ops_client.get(f"{URL}?{query}")
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json()["count"] == 0


def test_delete_ends_a_started_entry_from_today_and_records_who_and_why(compliance_client, instruments):
    today = timezone.localdate()
    entry = restrict(instruments["AAPL"], today - timedelta(days=4))
    response = delete(compliance_client, entry.pk, {"reason": "Deal announced"})
    assert response.status_code == 200, response.content
    out = response.json()
    assert (out["effective_to"], out["withdrawn"], out["ended_by"], out["end_reason"]) == (
        (today - timedelta(days=1)).isoformat(), False, "comp", "Deal announced")
    assert out["ended_at"] is not None
    record = AuditRecord.objects.filter(record_type=RECORD_TYPE, record_id=str(entry.pk)).latest("id")
    assert (record.action, record.actor_label, record.reason) == ("UPDATE", "comp", "Deal announced")
    assert RestrictedInstrument.objects.filter(pk=entry.pk).exists()


def test_delete_without_a_body_withdraws_an_entry_not_started(compliance_client, instruments):
    entry = restrict(instruments["AAPL"], timezone.localdate() + timedelta(days=2))
    response = delete(compliance_client, entry.pk)
    assert response.status_code == 200, response.content
    assert (response.json()["withdrawn"], response.json()["end_reason"]) == (True, "")


def test_delete_of_an_ended_entry_is_a_409_and_changes_nothing(compliance_client, instruments):
    today = timezone.localdate()
    ended = restrict(instruments["AAPL"], today - timedelta(days=4))
    assert delete(compliance_client, ended.pk, {"reason": "first"}).status_code == 200
    expired = restrict(instruments["MSFT"], today - timedelta(days=4), today - timedelta(days=1))
    before = state()
    response = delete(compliance_client, ended.pk, {"reason": "again"})
    assert response.status_code == 409
    assert response.json()["detail"].startswith(f"Restricted-list entry {ended.pk} was already ended on ")
    response = delete(compliance_client, expired.pk)
    assert response.status_code == 409
    assert response.json() == {"detail": f"Restricted-list entry {expired.pk} already ended on its own: its last "
                                         f"day was {(today - timedelta(days=1)).isoformat()}."}
    assert state() == before


@pytest.mark.parametrize("data", [{"reason": "a\x00b"}, {"reason": "x" * 501}, {"why": "x"}, {"reason": 5}])
def test_delete_with_a_bad_reason_is_a_400_and_changes_nothing(compliance_client, instruments, data):
    entry = restrict(instruments["AAPL"], timezone.localdate() - timedelta(days=1))
    before = state()
    response = delete(compliance_client, entry.pk, data)
    assert response.status_code == 400, response.content
    assert state() == before


def test_an_unknown_entry_is_a_404(compliance_client, instruments):
    assert compliance_client.get(f"{URL}999999/").status_code == 404
    assert delete(compliance_client, 999999).status_code == 404


def test_roles(fo_client, ops_client, accounting_client, compliance_client, admin_client_api, anon_client,
               instruments):
    entry = restrict(instruments["AAPL"], timezone.localdate() + timedelta(days=3))
    assert anon_client.get(URL).status_code == 401
    assert post(anon_client, BODY).status_code == 401
    assert fo_client.get(URL).status_code == 403
    assert fo_client.get(f"{URL}{entry.pk}/").status_code == 403
    for reader in (ops_client, accounting_client, compliance_client, admin_client_api):
        assert reader.get(URL).status_code == 200
        assert reader.get(f"{URL}{entry.pk}/").status_code == 200
    before = state()
    for refused in (fo_client, ops_client, accounting_client):
        assert post(refused, BODY).status_code == 403
        assert delete(refused, entry.pk).status_code == 403
    assert state() == before
    assert post(admin_client_api, BODY).status_code == 201
    assert delete(admin_client_api, entry.pk).status_code == 200


def test_the_schema_documents_the_restricted_list(admin_client_api):
    schema = admin_client_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/compliance/restricted-list/"]) >= {"get", "post"}
    assert set(paths["/api/v1/compliance/restricted-list/{entry_id}/"]) >= {"get", "delete"}
    assert "409" in paths["/api/v1/compliance/restricted-list/{entry_id}/"]["delete"]["responses"]
