"""The reports' API: trial balance, GL account ledger, P&L, income statement, balance sheet (API.md "Accounting")."""

import pytest

from tests.accounting.test_selectors_reports import DAY1, DAY2, DAY3, build_ledger

pytestmark = pytest.mark.django_db

TB = "/api/v1/accounting/trial-balance/"
LEDGER = "/api/v1/accounting/ledger/"
PNL = "/api/v1/accounting/pnl/"
INCOME = "/api/v1/accounting/income-statement/"
BALANCE = "/api/v1/accounting/balance-sheet/"


@pytest.fixture
def ledger(accounts, instruments):
    return build_ledger(accounts, instruments)


ALL = [TB, LEDGER + "?gl_account=1300", PNL, INCOME, BALANCE]


@pytest.mark.parametrize("url", ALL)
def test_every_report_needs_a_token(anon_client, url):
    assert anon_client.get(url).status_code == 401


@pytest.mark.parametrize("url", ALL)
def test_front_office_may_not_read_the_reports(fo_client, url):
    assert fo_client.get(url).status_code == 403


@pytest.mark.parametrize("url", ALL)
def test_accounting_operations_compliance_and_superusers_read_them(accounting_client, ops_client,
                                                                   compliance_client, admin_client_api, url):
    for client in (accounting_client, ops_client, compliance_client, admin_client_api):
        assert client.get(url).status_code == 200


def test_trial_balance_rows_and_totals_as_decimal_strings(ledger, accounting_client):
    response = accounting_client.get(TB, {"as_of": DAY2.isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["as_of"], body["base_currency"]) == (10, "2026-11-10", "USD")
    assert body["results"][0] == {"gl_account": "1100", "name": "Cash at banks and depositories", "type": "ASSET",
                                  "currency": "USD", "debit": "10000", "credit": "0", "balance": "10000",
                                  "base_debit": "10000", "base_credit": "0", "base_balance": "10000"}
    sap = next(row for row in body["results"] if row["gl_account"] == "2100" and row["currency"] == "EUR")
    assert (sap["credit"], sap["balance"], sap["base_credit"], sap["base_balance"]) == ("2000", "-2000", "2200",
                                                                                       "-2200")
    assert body["totals"] == {"per_currency": [{"currency": "EUR", "debit": "2000", "credit": "2000"},
                                               {"currency": "USD", "debit": "25815", "credit": "25815"}],
                              "base": {"debit": "28015", "credit": "28015"}}


def test_trial_balance_totals_cover_every_page(ledger, accounting_client):
    body = accounting_client.get(TB, {"as_of": DAY2.isoformat(), "page_size": 2}).json()
    assert len(body["results"]) == 2 and body["next"]
    assert body["totals"]["base"] == {"debit": "28015", "credit": "28015"}


def test_trial_balance_filters(ledger, accounting_client):
    body = accounting_client.get(TB, {"as_of": DAY2.isoformat(), "account": "HOUSE"}).json()
    assert [(row["gl_account"], row["currency"]) for row in body["results"]] == [("1300", "EUR"), ("2100", "EUR")]
    body = accounting_client.get(TB, {"as_of": DAY2.isoformat(), "currency": "EUR"}).json()
    assert body["count"] == 2 and body["totals"]["per_currency"] == [
        {"currency": "EUR", "debit": "2000", "credit": "2000"}]
    assert accounting_client.get(TB, {"as_of": "2026-11-01"}).json()["count"] == 0


@pytest.mark.parametrize(("params", "field"), [
    ({"as_of": "2026-13-01"}, "as_of"), ({"as_of": "20261101"}, "as_of"), ({"currency": "usd"}, "currency"),
    ({"currency": "XYZ"}, "currency"), ({"account": "NOPE"}, "account"), ({"page_size": "all"}, "page_size"),
])
def test_trial_balance_refuses_malformed_parameters_naming_them(ledger, accounting_client, params, field):
    response = accounting_client.get(TB, params)
    assert response.status_code == 400
    assert field in response.json()


def test_ledger_with_opening_running_and_closing_balances(ledger, accounting_client):
    response = accounting_client.get(LEDGER, {"gl_account": "1300", "currency": "USD",
                                              "date_from": DAY2.isoformat(), "date_to": DAY2.isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert body["gl_account"] == {"code": "1300", "name": "Investments at cost", "type": "ASSET"}
    assert body["opening"] == [{"currency": "USD", "balance": "15000", "base_balance": "15000"}]
    assert body["closing"] == [{"currency": "USD", "balance": "9000", "base_balance": "9000"}]
    assert (body["opening_base_balance"], body["closing_base_balance"]) == ("15000", "9000")
    first, second = body["results"]
    assert first == {
        "id": first["id"], "entry": ledger.sell.pk, "entry_date": "2026-11-10", "rule": "TRADE_SELL",
        "source_type": "TRADE", "source_id": ledger.sell.source_id, "description": "sell 40 AAPL",
        "account": "ACC-001", "instrument": ledger.instruments["AAPL"].isin, "currency": "USD", "quantity": "-40",
        "debit": "0", "credit": "6800", "running_balance": "8200", "base_debit": "0", "base_credit": "6800",
        "running_base_balance": "8200"}
    assert (second["debit"], second["running_balance"]) == ("800", "9000")


def test_ledger_running_balance_continues_across_pages(ledger, accounting_client):
    body = accounting_client.get(LEDGER, {"gl_account": "1300", "page_size": 2, "page": 2}).json()
    assert body["count"] == 6
    assert [(row["currency"], row["running_balance"], row["running_base_balance"]) for row in body["results"]] == [
        ("USD", "9000", "9000"), ("EUR", "2000", "11200")]
    assert body["closing"] == [{"currency": "EUR", "balance": "2000", "base_balance": "2200"},
                               {"currency": "USD", "balance": "7500", "base_balance": "7500"}]
    assert body["opening"] == [] and body["date_from"] is None


def test_ledger_line_without_account_or_instrument(ledger, accounting_client):
    from tests.accounting.factories import post_entry

    post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY1)
    body = accounting_client.get(LEDGER, {"gl_account": "1100", "date_to": DAY1.isoformat()}).json()
    assert [(row["account"], row["instrument"], row["running_balance"]) for row in body["results"]] == [
        ("ACC-001", None, "10000"), (None, None, "10001")]


@pytest.mark.parametrize(("params", "field"), [
    ({}, "gl_account"), ({"gl_account": "9999"}, "gl_account"), ({"gl_account": "1300", "date_from": "2026-02-30"},
                                                                 "date_from"),
    ({"gl_account": "1300", "date_from": "2026-11-10", "date_to": "2026-11-01"}, "date_to"),
    ({"gl_account": "1300", "account": "NOPE"}, "account"),
])
def test_ledger_refuses_what_it_cannot_read(ledger, accounting_client, params, field):
    response = accounting_client.get(LEDGER, params)
    assert response.status_code == 400
    assert field in response.json()
    if params.get("gl_account") == "9999":
        assert "Unknown GL account '9999'" in response.json()["gl_account"][0]


def test_pnl_per_account_and_instrument_with_totals(ledger, accounting_client):
    body = accounting_client.get(PNL, {"as_of": DAY2.isoformat()}).json()
    aapl, sap = body["results"]
    assert aapl == {"account": "ACC-001", "instrument": ledger.instruments["AAPL"].isin, "symbol": "AAPL",
                    "currency": "USD", "quantity": "60", "cost": "9000", "price": "175", "price_date": "2026-11-10",
                    "priced": True, "market_value": "10500", "realized": "800", "unrealized": "1500",
                    "commissions": "15", "net": "2285"}
    assert (sap["priced"], sap["price"], sap["unrealized"], sap["market_value"], sap["net"]) == (
        False, None, None, None, "0")
    assert body["as_of"] == "2026-11-10"
    assert body["totals"] == [
        {"currency": "EUR", "unpriced": 1, "realized": "0", "unrealized": "0", "commissions": "0", "net": "0",
         "cost": "2000", "market_value": "0"},
        {"currency": "USD", "unpriced": 0, "realized": "800", "unrealized": "1500", "commissions": "15",
         "net": "2285", "cost": "9000", "market_value": "10500"}]


def test_pnl_filters_and_as_of(ledger, accounting_client):
    body = accounting_client.get(PNL, {"as_of": DAY3.isoformat(), "account": "ACC-001",
                                       "instrument": ledger.instruments["AAPL"].isin}).json()
    (row,) = body["results"]
    assert (row["realized"], row["unrealized"], row["net"], row["price"]) == ("700", "500", "1185", "160")
    for params, field in (({"instrument": "US0000000000"}, "instrument"), ({"as_of": "2026-11-31"}, "as_of"),
                          ({"account": "NOPE"}, "account")):
        response = accounting_client.get(PNL, params)
        assert response.status_code == 400 and field in response.json()


def test_income_statement_in_base_with_hierarchy(ledger, accounting_client):
    body = accounting_client.get(INCOME, {"date_from": DAY1.isoformat(), "date_to": DAY2.isoformat()}).json()
    assert (body["revenue"], body["expenses"], body["net_income"], body["base_currency"]) == ("800", "15", "785",
                                                                                            "USD")
    revenue = body["sections"][0]
    assert revenue["type"] == "REVENUE" and revenue["total"] == "800"
    assert revenue["lines"][0] == {"gl_account": "4000", "name": "Revenue and trading gains", "type": "REVENUE",
                                   "parent": None, "depth": 0, "amount": "0", "total": "800"}
    response = accounting_client.get(INCOME, {"date_from": DAY2.isoformat(), "date_to": DAY1.isoformat()})
    assert response.status_code == 400 and "date_to" in response.json()


def test_balance_sheet_balances_and_shows_earnings_in_equity(ledger, accounting_client):
    body = accounting_client.get(BALANCE, {"as_of": DAY2.isoformat()}).json()
    assert (body["assets"], body["liabilities"], body["equity"], body["earnings"],
            body["liabilities_and_equity"], body["difference"]) == ("28000", "27215", "785", "785", "28000", "0")
    assert body["sections"][2]["lines"][-1] == {"gl_account": None, "name": "Current-period earnings",
                                                "type": "EQUITY", "parent": None, "depth": 0, "amount": "785",
                                                "total": "785"}
    response = accounting_client.get(BALANCE, {"as_of": "20261101"})
    assert response.status_code == 400 and "as_of" in response.json()


def test_answers_with_figures_conform_to_the_openapi_schema(ledger, accounting_client):
    import schemathesis
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.authtoken.models import Token

    from backoffice.wsgi import application

    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    schema.app = application
    token = Token.objects.get(user__username="acct").key
    # WSGI requests would close the test's connection; keep it open (as tests/records/test_schema_openapi.py).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        _conform(schema, token)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _conform(schema, token):
    import schemathesis

    for path, params in ((TB, {"as_of": DAY2.isoformat()}), (LEDGER, {"gl_account": "1300"}),
                         (PNL, {"as_of": DAY2.isoformat()}), (INCOME, {"date_from": DAY1.isoformat()}),
                         (BALANCE, {})):
        case = schema[path]["GET"].Case(query=params, headers={"Authorization": f"Token {token}"})
        response = case.call()
        assert response.status_code == 200, (path, response.text)
        case.validate_response(response, checks=[schemathesis.checks.response_schema_conformance])
