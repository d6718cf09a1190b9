"""The API of locates, borrows and the penalty box: GET, POST /api/v1/compliance/locates/, GET, DELETE .../{id}/,
GET /api/v1/compliance/penalty-box/, POST .../{id}/release/. Bad input is a 400 naming the field, never a 500;
roles are enforced; a refused request changes nothing."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.shorts.models import Locate, PenaltyBoxEntry
from records.audit.models import AuditRecord
from tests.conftest import APPLE, MICROSOFT

pytestmark = pytest.mark.django_db
URL = "/api/v1/compliance/locates/"
BOX = "/api/v1/compliance/penalty-box/"


def post(client, data, url=URL):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def delete(client, locate_id, data=None):
    if data is None:
        return client.delete(f"{URL}{locate_id}/")
    return client.delete(f"{URL}{locate_id}/", data=json.dumps(data), content_type="application/json")


def body(**changes):
    return {"account": "ACC-001", "instrument": APPLE, "kind": "LOCATE", "quantity": "5000",
            "source": "Prime broker A", "reference": "LOC-0001", "valid_from": timezone.localdate().isoformat(),
            **changes}


def state():
    audits = AuditRecord.objects.filter(record_type="compliance.locate").count()
    return list(Locate.objects.order_by("id").values()), audits


def test_operations_records_a_locate_and_anyone_reading_gets_it_back(ops_client, fo_client, accounting_client,
                                                                      compliance_client, accounts, instruments):
    today = timezone.localdate().isoformat()
    response = post(ops_client, body())
    assert response.status_code == 201, response.content
    out = response.json()
    locate = Locate.objects.get()
    assert out == {"id": locate.pk, "account": "ACC-001", "instrument": APPLE, "instrument_name": "Apple Inc.",
                   "kind": "LOCATE", "quantity": "5000", "source": "Prime broker A", "reference": "LOC-0001",
                   "valid_from": today, "valid_to": today, "state": "ACTIVE", "created_by": "ops",
                   "created_at": out["created_at"], "ended_by": None, "ended_at": None, "end_reason": ""}
    for client in (fo_client, accounting_client, compliance_client):
        assert client.get(f"{URL}{locate.pk}/").json() == out
        assert client.get(URL).json()["results"] == [out]
    borrow = post(compliance_client, body(kind="BORROW", reference="BRW-1", quantity=250))
    assert borrow.status_code == 201
    assert (borrow.json()["valid_to"], borrow.json()["quantity"], borrow.json()["created_by"]) == (None, "250", "comp")


def test_filters(ops_client, accounts, instruments):
    today = timezone.localdate()
    ids = {}
    for ref, changes in {"L1": {}, "B1": {"kind": "BORROW"}, "L2": {"instrument": MICROSOFT, "account": "HOUSE"},
                         "L3": {"valid_from": (today + timedelta(days=1)).isoformat()}}.items():
        ids[ref] = post(ops_client, body(reference=ref, **changes)).json()["id"]

    def found(query):
        response = ops_client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return {row["reference"] for row in response.json()["results"]}

    assert found("account=ACC-001") == {"L1", "B1", "L3"}
    assert found(f"instrument={MICROSOFT}") == {"L2"}
    assert found("kind=BORROW") == {"B1"}
    assert found(f"active_on={today.isoformat()}") == {"L1", "B1", "L2"}
    assert found(f"active_on={(today + timedelta(days=1)).isoformat()}&account=ACC-001") == {"B1", "L3"}
    assert found("account=NOPE") == set()


@pytest.mark.parametrize("query", ["kind=LEND", "active_on=2026-13-01", "active_on=a%00b", "kind=", "page_size=x"])
def test_a_malformed_filter_is_a_400(ops_client, accounts, instruments, query):
    assert ops_client.get(f"{URL}?{query}").status_code == 400


@pytest.mark.parametrize("url", [f"{URL}?account=a%00b", f"{URL}?instrument=a%00b", f"{BOX}?account=a%00b",
                                 f"{BOX}?instrument=a%00b"])
def test_a_nul_in_a_filter_is_never_a_500(ops_client, accounts, instruments, url):
    response = ops_client.get(url)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json()["count"] == 0


@pytest.mark.parametrize(("changes", "field"), [
    ({"account": "NOPE"}, "account"), ({"account": "ACC\x00001"}, "account"), ({"account": 12}, "account"),
    ({"instrument": "US0000000000"}, "instrument"), ({"instrument": None}, "instrument"),
    ({"kind": "LEND"}, "kind"), ({"kind": ["LOCATE"]}, "kind"),
    ({"quantity": "0"}, "quantity"), ({"quantity": "-100"}, "quantity"),
    ({"quantity": 0.30000000000000004}, "quantity"),
    ({"quantity": "abc"}, "quantity"), ({"quantity": True}, "quantity"),
    ({"source": ""}, "source"), ({"source": "a\x00b"}, "source"), ({"source": 5}, "source"),
    ({"reference": "x" * 101}, "reference"), ({"reference": "\x00"}, "reference"),
    ({"valid_from": "20261120"}, "valid_from"), ({"valid_from": "2026-02-30"}, "valid_from"),
    ({"valid_from": "2026-11-20", "valid_to": "2026-11-19"}, "valid_to"), ({"valid_to": 5}, "valid_to"),
    ({"lender": "x"}, "lender"),
])
def test_bad_input_is_a_400_naming_the_field_and_records_nothing(ops_client, accounts, instruments, changes, field):
    before = state()
    response = post(ops_client, body(**changes))
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert state() == before


@pytest.mark.parametrize("raw", ["[]", '"text"', "null", "{", '{"quantity": NaN}'])
def test_a_body_that_is_not_an_object_is_a_400(ops_client, accounts, instruments, raw):
    assert ops_client.post(URL, data=raw, content_type="application/json").status_code == 400
    assert not Locate.objects.exists()


def test_a_used_reference_is_a_409(ops_client, accounts, instruments):
    assert post(ops_client, body()).status_code == 201
    before = state()
    response = post(ops_client, body(kind="BORROW"))
    assert response.status_code == 409
    assert "LOC-0001" in response.json()["detail"]
    assert state() == before


def test_delete_ends_a_borrow_and_a_second_delete_is_a_409(ops_client, accounts, instruments):
    today = timezone.localdate()
    started = (today - timedelta(days=3)).isoformat()
    borrow = post(ops_client, body(kind="BORROW", reference="BRW-1", valid_from=started)).json()
    response = delete(ops_client, borrow["id"], {"reason": "returned to lender"})
    assert response.status_code == 200, response.content
    out = response.json()
    assert (out["valid_to"], out["state"], out["ended_by"], out["end_reason"]) == (
        (today - timedelta(days=1)).isoformat(), "ENDED", "ops", "returned to lender")
    assert out["ended_at"] is not None
    before = state()
    assert delete(ops_client, borrow["id"]).status_code == 409
    assert state() == before


def test_delete_of_todays_locate_withdraws_it_without_a_body(ops_client, accounts, instruments):
    locate = post(ops_client, body()).json()
    response = delete(ops_client, locate["id"])
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["valid_to"]) == ("WITHDRAWN", locate["valid_to"])
    assert ops_client.get(f"{URL}?active_on={locate['valid_from']}").json()["count"] == 0


@pytest.mark.parametrize("data", [{"reason": "a\x00b"}, {"reason": "x" * 501}, {"why": "x"}, {"reason": 5}, []])
def test_a_bad_end_body_is_a_400_and_ends_nothing(ops_client, accounts, instruments, data):
    locate = post(ops_client, body()).json()
    before = state()
    assert delete(ops_client, locate["id"], data).status_code == 400
    assert state() == before


def test_roles(fo_client, accounting_client, compliance_client, ops_client, anon_client, accounts, instruments):
    assert post(fo_client, body()).status_code == 403
    assert post(accounting_client, body()).status_code == 403
    assert anon_client.get(URL).status_code == 401
    locate = post(compliance_client, body()).json()
    assert delete(fo_client, locate["id"]).status_code == 403
    assert delete(accounting_client, locate["id"]).status_code == 403
    assert Locate.objects.get().ended_at is None
    assert fo_client.get(URL).status_code == 200
    assert ops_client.get(f"{URL}999999/").status_code == 404
    assert delete(ops_client, 999999).status_code == 404
    assert ops_client.get(f"{URL}abc/").status_code == 404


# The penalty box ----------------------------------------------------------------------------------------

def entry(accounts, instruments, *, fail_id=1, instrument="AAPL", released=False):
    today = timezone.localdate()
    return PenaltyBoxEntry.objects.create(
        account=accounts["ACC-001"], instrument=instruments[instrument], fail_id=fail_id,
        close_out_deadline=today - timedelta(days=3), since=today - timedelta(days=2), reason="fail past deadline",
        released_on=today - timedelta(days=1) if released else None, release_reason="closed out" if released else "")


def test_the_penalty_box_lists_entries_with_filters(fo_client, ops_client, accounts, instruments):
    open_entry = entry(accounts, instruments)
    released = entry(accounts, instruments, fail_id=2, instrument="MSFT", released=True)
    response = ops_client.get(BOX)
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert rows[open_entry.pk] == {
        "id": open_entry.pk, "account": "ACC-001", "instrument": APPLE, "instrument_name": "Apple Inc.",
        "fail_id": 1, "close_out_deadline": open_entry.close_out_deadline.isoformat(),
        "since": open_entry.since.isoformat(), "reason": "fail past deadline", "open": True, "released_on": None,
        "released_by": None, "release_reason": ""}
    assert rows[released.pk]["open"] is False
    assert [r["id"] for r in fo_client.get(f"{BOX}?open=true").json()["results"]] == [open_entry.pk]
    assert [r["id"] for r in fo_client.get(f"{BOX}?open=false").json()["results"]] == [released.pk]
    assert [r["id"] for r in fo_client.get(f"{BOX}?instrument={MICROSOFT}").json()["results"]] == [released.pk]
    assert fo_client.get(f"{BOX}?account=HOUSE").json()["count"] == 0
    assert fo_client.get(f"{BOX}?open=yes").status_code == 400


def test_compliance_releases_an_entry_once(compliance_client, ops_client, accounts, instruments):
    box = entry(accounts, instruments)
    url = f"{BOX}{box.pk}/release/"
    assert post(ops_client, {"reason": "x"}, url).status_code == 403
    for bad in ({}, {"reason": ""}, {"reason": "a\x00b"}, {"reason": 3}, {"reason": "x", "extra": 1}):
        assert post(compliance_client, bad, url).status_code == 400
    assert PenaltyBoxEntry.objects.get().released_on is None
    response = post(compliance_client, {"reason": "fail closed out by buy-in"}, url)
    assert response.status_code == 200, response.content
    assert (response.json()["open"], response.json()["released_by"], response.json()["release_reason"]) == (
        False, "comp", "fail closed out by buy-in")
    assert AuditRecord.objects.filter(record_type="compliance.penaltyboxentry", record_id=str(box.pk)).count() == 1
    again = post(compliance_client, {"reason": "again"}, url)
    assert again.status_code == 409
    assert post(compliance_client, {"reason": "x"}, f"{BOX}999999/release/").status_code == 404
