"""Reference-data API: the contract of API.md, and every bad input answered with a 400, never a 500."""

import json

import pytest

from records.audit.models import AuditRecord
from records.reference.models import Counterparty, Instrument, Price
from tests.conftest import APPLE, LEI_A, SAP, VODAFONE, client_for, make_user

pytestmark = pytest.mark.django_db

NEW_ISIN = "US88160R1014"  # Tesla
NEW_LEI = "529900T8BM49AURSDO55"


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def instrument_body(**overrides):
    body = {"isin": NEW_ISIN, "symbol": "TSLA", "name": "Tesla Inc.", "asset_class": "EQUITY",
            "currency": "USD", "market": "XNAS"}
    return {**body, **overrides}


# Authentication and roles ----------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/instruments/", "/api/v1/accounts/", "/api/v1/counterparties/",
                                 "/api/v1/prices/", "/api/v1/cash/balances/", "/api/v1/markets/",
                                 "/api/v1/settlement-date/?instrument=US0378331005&trade_date=2026-11-20"])
def test_every_endpoint_needs_a_token(anon_client, url):
    assert anon_client.get(url).status_code == 401


def test_a_user_without_a_role_is_forbidden(db):
    from tests.conftest import client_for, make_user

    client = client_for(make_user("nobody"))
    assert client.get("/api/v1/instruments/").status_code == 403


def test_compliance_may_read_but_not_write_reference_data(compliance_client, instruments):
    assert compliance_client.get("/api/v1/instruments/").status_code == 200
    response = post(compliance_client, "/api/v1/instruments/", instrument_body())
    assert response.status_code == 403
    assert not Instrument.objects.filter(isin=NEW_ISIN).exists()


def test_an_invalid_token_is_401(db):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/instruments/").status_code == 401


# Instruments -----------------------------------------------------------------------------------

def test_create_instrument_derives_settlement_cycle_and_audits(fo_client, front_office_user):
    response = post(fo_client, "/api/v1/instruments/", instrument_body())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["isin"] == NEW_ISIN
    assert body["market"] == "XNAS"
    assert body["settlement_cycle"] == 1
    assert body["settlement_cycle_override"] is None
    audit = AuditRecord.objects.get(record_type="records.instrument", action="CREATE")
    assert audit.actor == front_office_user
    assert audit.after["isin"] == NEW_ISIN
    assert audit.correlation_id.startswith("req:")


def test_duplicate_isin_is_409_and_changes_nothing(fo_client, instruments):
    before = AuditRecord.objects.count()
    response = post(fo_client, "/api/v1/instruments/", instrument_body(isin=APPLE))
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]
    assert Instrument.objects.filter(isin=APPLE).count() == 1
    assert AuditRecord.objects.count() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"isin": "US0378331006"}, "isin"),  # wrong check digit
        ({"isin": "US037833100"}, "isin"),  # too short
        ({"isin": "us0378331005"}, "isin"),  # not canonical
        ({"isin": "'; DROP TABLE records_instrument;--"}, "isin"),
        ({"market": "XXXX"}, "market"),
        ({"currency": "USX"}, "currency"),
        ({"currency": "XAU"}, "currency"),  # gold is no settlement currency
        ({"asset_class": "CRYPTO"}, "asset_class"),
        ({"settlement_cycle": -1}, "settlement_cycle"),
        ({"settlement_cycle": "soon"}, "settlement_cycle"),
        ({"symbol": ""}, "symbol"),
        ({"name": None}, "name"),
    ],
)
def test_bad_instrument_input_is_a_field_level_400(fo_client, overrides, field):
    response = post(fo_client, "/api/v1/instruments/", instrument_body(**overrides))
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field], response.json()
    assert Instrument.objects.count() == 0


def test_instrument_filters_and_search(fo_client, instruments):
    assert [i["isin"] for i in fo_client.get("/api/v1/instruments/?market=XETR").json()["results"]] == [SAP]
    assert fo_client.get("/api/v1/instruments/?search=vodaf").json()["count"] == 1
    assert fo_client.get("/api/v1/instruments/?asset_class=EQUITY").json()["count"] == 4
    assert fo_client.get("/api/v1/instruments/?asset_class=NOPE").status_code == 400


def test_pagination_shape_and_page_size_cap(fo_client, instruments):
    body = fo_client.get("/api/v1/instruments/?page_size=2").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]
    assert fo_client.get("/api/v1/instruments/?page=99").status_code == 404
    assert len(fo_client.get("/api/v1/instruments/?page_size=5000").json()["results"]) == 4


def approve(change_id):
    """Approve a proposed change as a second operations user (maker-checker)."""
    checker = make_user("checker", "operations")
    response = post(client_for(checker), f"/api/v1/approvals/{change_id}/approve/", {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "APPROVED", response.json()
    return response.json()


def test_patch_instrument_proposes_the_change_and_approval_applies_and_audits_it(ops_client, instruments):
    response = patch(ops_client, f"/api/v1/instruments/{APPLE}/", {"name": "Apple Inc. (renamed)",
                                                                   "settlement_cycle": 2, "reason": "corp action"})
    assert response.status_code == 202, response.content
    proposal = response.json()
    assert (proposal["kind"], proposal["target_id"], proposal["status"]) == ("instrument.update", APPLE, "PENDING")
    assert proposal["payload"] == {"isin": APPLE, "changes": {"name": "Apple Inc. (renamed)", "settlement_cycle": 2}}
    assert ops_client.get(f"/api/v1/instruments/{APPLE}/").json()["name"] == "Apple Inc."
    assert not AuditRecord.objects.filter(record_type="records.instrument", action="UPDATE").exists()

    approve(proposal["id"])

    body = ops_client.get(f"/api/v1/instruments/{APPLE}/").json()
    assert (body["name"], body["settlement_cycle"]) == ("Apple Inc. (renamed)", 2)
    audit = AuditRecord.objects.filter(record_type="records.instrument", action="UPDATE").get()
    assert audit.before["name"] == "Apple Inc." and audit.after["name"] == "Apple Inc. (renamed)"
    assert audit.reason == f"change request #{proposal['id']}: corp action"
    assert audit.actor.username == "checker"


def test_patch_unknown_instrument_is_404(ops_client, db):
    assert patch(ops_client, "/api/v1/instruments/US0378331005/", {"name": "x"}).status_code == 404


def test_patch_with_unknown_market_is_400(ops_client, instruments):
    response = patch(ops_client, f"/api/v1/instruments/{APPLE}/", {"market": "ZZZZ"})
    assert response.status_code == 400 and list(response.json()) == ["market"]
    assert Instrument.objects.get(isin=APPLE).market_id == "XNAS"


# Accounts --------------------------------------------------------------------------------------

def test_create_account_with_defaults(ops_client):
    response = post(ops_client, "/api/v1/accounts/", {"code": "ACC-009", "name": "Nine", "kind": "CLIENT",
                                                       "base_currency": "EUR"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["cost_method"], body["allow_partial_settlement"], body["credit_limit"]) == (
        "ACTIVE", "FIFO", True, "0")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"credit_limit": "-1"}, "credit_limit"),
        ({"credit_limit": 0.30000000000000004}, "credit_limit"),  # binary noise
        ({"credit_limit": "1.00001"}, "credit_limit"),  # too many places
        ({"credit_limit": "1e400"}, "credit_limit"),
        ({"credit_limit": "NaN"}, "credit_limit"),
        ({"credit_limit": True}, "credit_limit"),
        ({"kind": "PERSONAL"}, "kind"),
        ({"status": "OPEN"}, "status"),
        ({"base_currency": "US"}, "base_currency"),
        ({"code": "bad code with spaces"}, "code"),
        ({"code": "Ω-unicode"}, "code"),
    ],
)
def test_bad_account_input_is_400(ops_client, overrides, field):
    body = {"code": "ACC-009", "name": "Nine", "kind": "CLIENT", "base_currency": "EUR", **overrides}
    response = post(ops_client, "/api/v1/accounts/", body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field], response.json()


def test_credit_limit_as_json_number_keeps_exact_value(ops_client):
    raw = '{"code": "A1", "name": "n", "kind": "HOUSE", "base_currency": "USD", "credit_limit": 1000.25}'
    response = ops_client.post("/api/v1/accounts/", data=raw, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["credit_limit"] == "1000.25"


def test_duplicate_account_code_is_409(ops_client, accounts):
    response = post(ops_client, "/api/v1/accounts/", {"code": "ACC-001", "name": "x", "kind": "CLIENT",
                                                       "base_currency": "USD"})
    assert response.status_code == 409


def test_malformed_json_is_400(ops_client):
    response = ops_client.post("/api/v1/accounts/", data='{"code": ', content_type="application/json")
    assert response.status_code == 400
    response = ops_client.post("/api/v1/accounts/", data='{"credit_limit": NaN}', content_type="application/json")
    assert response.status_code == 400


def test_account_detail_and_patch(ops_client, accounts):
    assert ops_client.get("/api/v1/accounts/ACC-001/").json()["credit_limit"] == "1000"
    response = patch(ops_client, "/api/v1/accounts/ACC-001/", {"status": "SUSPENDED", "credit_limit": "2500.50"})
    assert response.status_code == 202, response.content
    assert response.json()["payload"] == {"code": "ACC-001",
                                          "changes": {"status": "SUSPENDED", "credit_limit": "2500.5"}}
    unchanged = ops_client.get("/api/v1/accounts/ACC-001/").json()
    assert (unchanged["status"], unchanged["credit_limit"]) == ("ACTIVE", "1000")

    approve(response.json()["id"])

    body = ops_client.get("/api/v1/accounts/ACC-001/").json()
    assert (body["status"], body["credit_limit"]) == ("SUSPENDED", "2500.5")


def test_patch_counterparty_is_proposed_and_applied_on_approval(ops_client, counterparties):
    response = patch(ops_client, "/api/v1/counterparties/BRKR-A/", {"name": "Broker A Ltd", "clears_through": None})
    assert response.status_code == 202, response.content
    assert ops_client.get("/api/v1/counterparties/BRKR-A/").json()["clears_through"] == "NSCC"

    approve(response.json()["id"])

    body = ops_client.get("/api/v1/counterparties/BRKR-A/").json()
    assert (body["name"], body["clears_through"]) == ("Broker A Ltd", None)


def test_patch_that_changes_nothing_is_400_and_proposes_nothing(ops_client, accounts):
    response = patch(ops_client, "/api/v1/accounts/ACC-001/", {"status": "ACTIVE", "credit_limit": "1000.00"})
    assert response.status_code == 400, response.content
    assert ops_client.get("/api/v1/approvals/?mine=true").json()["count"] == 0


def test_account_list_filters(ops_client, accounts):
    assert [a["code"] for a in ops_client.get("/api/v1/accounts/?kind=HOUSE").json()["results"]] == ["HOUSE"]


# Counterparties --------------------------------------------------------------------------------

def test_create_counterparty_clearing_through_a_ccp(ops_client, counterparties):
    response = post(ops_client, "/api/v1/counterparties/", {"code": "BRKR-B", "name": "Broker B", "lei": NEW_LEI,
                                                             "clears_through": "NSCC"})
    assert response.status_code == 201, response.content
    assert response.json()["clears_through"] == "NSCC"
    assert response.json()["requires_matching"] is True


@pytest.mark.parametrize(
    ("overrides", "field", "status"),
    [
        ({"lei": "529900T8BM49AURSDO56"}, "lei", 400),  # wrong check digits
        ({"lei": "TOO-SHORT"}, "lei", 400),
        ({"clears_through": "BRKR-A"}, "clears_through", 400),  # not a CCP
        ({"clears_through": "NOPE"}, "clears_through", 400),
        ({"is_ccp": True, "clears_through": "NSCC"}, "clears_through", 400),
        ({"lei": LEI_A}, "detail", 409),  # LEI already used
        ({"code": "BRKR-A"}, "detail", 409),
    ],
)
def test_bad_counterparty_input(ops_client, counterparties, overrides, field, status):
    body = {"code": "BRKR-B", "name": "Broker B", "lei": NEW_LEI, **overrides}
    response = post(ops_client, "/api/v1/counterparties/", body)
    assert response.status_code == status, response.content
    assert list(response.json()) == [field], response.json()
    assert Counterparty.objects.count() == 2


# Prices ----------------------------------------------------------------------------------------

def test_post_one_price_then_upsert_it(fo_client, instruments):
    body = {"instrument": APPLE, "price_date": "2026-11-20", "price": "189.25", "currency": "USD",
            "source": "BBG"}
    first = post(fo_client, "/api/v1/prices/", body)
    assert first.status_code == 201, first.content
    assert first.json()["price"] == "189.25"
    second = post(fo_client, "/api/v1/prices/", {**body, "price": "190"})
    assert second.status_code == 200
    assert Price.objects.get().price == 190
    assert AuditRecord.objects.filter(record_type="records.price").values_list("action", flat=True).count() == 2
    same = post(fo_client, "/api/v1/prices/", {**body, "price": "190.000"})
    assert same.status_code == 200
    assert AuditRecord.objects.filter(record_type="records.price").count() == 2  # unchanged: not rewritten


def test_post_a_list_of_prices_is_all_or_nothing(fo_client, instruments):
    good = {"instrument": APPLE, "price_date": "2026-11-19", "price": "188"}
    bad = {"instrument": SAP, "price_date": "2026-11-19", "price": "-1"}
    unknown = {"instrument": "US88160R1014", "price_date": "2026-11-19", "price": "1"}
    response = post(fo_client, "/api/v1/prices/", [good, bad])
    assert response.status_code == 400
    assert response.json()[0] == {} and "price" in response.json()[1]
    response = post(fo_client, "/api/v1/prices/", [good, unknown])
    assert response.status_code == 400 and "instrument" in response.json()[1]
    assert Price.objects.count() == 0
    response = post(fo_client, "/api/v1/prices/", [good, {**good, "instrument": SAP, "price": "120.5"}])
    assert response.status_code == 201
    assert [p["currency"] for p in response.json()] == ["USD", "EUR"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": "-5"}, "price"),
        ({"price": "0"}, "price"),
        ({"price": 0.1 + 0.2}, "price"),
        ({"price": "1.123456789"}, "price"),
        ({"price": "abc"}, "price"),
        ({"currency": "EUR"}, "currency"),  # Apple is priced in USD
        ({"price_date": "2026-13-01"}, "price_date"),
        ({"instrument": "US0378331006"}, "instrument"),
    ],
)
def test_bad_price_input_is_400(fo_client, instruments, overrides, field):
    body = {"instrument": APPLE, "price_date": "2026-11-20", "price": "189.25", **overrides}
    response = post(fo_client, "/api/v1/prices/", body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field], response.json()
    assert Price.objects.count() == 0


def test_latest_price_on_or_before_as_of(fo_client, instruments):
    post(fo_client, "/api/v1/prices/", [
        {"instrument": VODAFONE, "price_date": "2026-11-18", "price": "0.7"},
        {"instrument": VODAFONE, "price_date": "2026-11-20", "price": "0.72"},
    ])
    url = f"/api/v1/instruments/{VODAFONE}/price/"
    assert fo_client.get(url + "?as_of=2026-11-19").json()["price"] == "0.7"
    assert fo_client.get(url + "?as_of=2026-11-20").json()["price"] == "0.72"
    assert fo_client.get(url + "?as_of=2026-11-17").status_code == 404
    assert fo_client.get(url + "?as_of=yesterday").status_code == 400
    assert fo_client.get("/api/v1/instruments/US88160R1014/price/").status_code == 404


def test_price_list_filters(fo_client, instruments):
    post(fo_client, "/api/v1/prices/", [
        {"instrument": APPLE, "price_date": f"2026-11-{d}", "price": str(180 + d)} for d in (16, 17, 18, 19, 20)
    ])
    body = fo_client.get(f"/api/v1/prices/?instrument={APPLE}&date_from=2026-11-17&date_to=2026-11-19").json()
    assert [p["price_date"] for p in body["results"]] == ["2026-11-19", "2026-11-18", "2026-11-17"]
    assert fo_client.get("/api/v1/prices/?date_from=not-a-date").status_code == 400


# Settlement date -------------------------------------------------------------------------------

def test_settlement_date_endpoint(fo_client, instruments):
    response = fo_client.get(f"/api/v1/settlement-date/?instrument={APPLE}&trade_date=2026-10-09")
    assert response.status_code == 200
    assert response.json() == {"instrument": APPLE, "trade_date": "2026-10-09", "settlement_date": "2026-10-13",
                               "settlement_cycle": 1, "calendar": "DTC"}
    past = fo_client.get(f"/api/v1/settlement-date/?instrument={APPLE}&trade_date=2024-05-24").json()
    assert (past["settlement_date"], past["settlement_cycle"]) == ("2024-05-29", 2)
    sap = fo_client.get(f"/api/v1/settlement-date/?instrument={SAP}&trade_date=2026-12-23").json()
    assert (sap["settlement_date"], sap["calendar"]) == ("2026-12-28", "T2S")


@pytest.mark.parametrize("query", ["", "?instrument=US0378331005", "?trade_date=2026-11-20",
                                   "?instrument=US0378331005&trade_date=2026-02-30",
                                   "?instrument=US88160R1014&trade_date=2026-11-20"])
def test_settlement_date_bad_queries_are_400(fo_client, instruments, query):
    assert fo_client.get("/api/v1/settlement-date/" + query).status_code == 400


# Schema ----------------------------------------------------------------------------------------

def test_openapi_schema_and_swagger_ui_are_served_without_a_cdn(fo_client, front_office_user):
    schema = fo_client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/instruments/", "/api/v1/settlement-date/", "/api/v1/cash/", "/api/v1/cash/balances/",
                 "/api/v1/prices/", "/api/v1/instruments/{isin}/price/"]:
        assert path in paths, path
    assert "409" in paths["/api/v1/instruments/"]["post"]["responses"]
    assert "400" in paths["/api/v1/instruments/"]["post"]["responses"]
    from django.test import Client

    browser = Client()
    signed_out = browser.get("/api/docs/")
    assert (signed_out.status_code, signed_out["Location"]) == (302, "/accounts/login/?next=/api/docs/")
    browser.force_login(front_office_user)
    page = browser.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
