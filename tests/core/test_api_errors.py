"""Every answer under /api/ is JSON, whether DEBUG is on or off: unknown paths (404), wrong methods (405),
bodies over the limit (413), malformed query parameters (400)."""

import json

import pytest

pytestmark = pytest.mark.django_db

UNKNOWN = ["/api/v1/no-such-thing/", "/api/nope", "/api/v1/trades/999999999/history/"]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_api_path_is_a_json_404(fo_client, settings, debug, path):
    settings.DEBUG = debug
    response = fo_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_dashboard_path_stays_an_html_page(client, settings):
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_api_404_of_a_view_keeps_its_own_json(fo_client, settings):
    settings.DEBUG = True
    response = fo_client.get("/api/v1/trades/999999999/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


# Bodies: a full 10,000-trade bulk fits; a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a JSON 413.

@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_body_over_the_limit_is_a_json_413(fo_client, settings, debug, content_type):
    settings.DEBUG = debug
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limit == 16 * 1024 * 1024
    response = fo_client.post("/api/v1/trades/bulk/", data=b" " * (limit + 1), content_type=content_type)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Request body too large: the limit is 16777216 bytes (16 MB)."}


def test_a_full_10000_trade_bulk_is_accepted(fo_client, instruments, accounts, counterparties, settings):
    from tests.conftest import APPLE

    trades = [{"external_ref": f"BULK-{i:05d}", "account": "ACC-001", "counterparty": "BRKR-A",
               "instrument": APPLE, "side": "BUY" if i % 2 else "SELL", "quantity": "100", "price": "189.25",
               "currency": "USD", "trade_date": "2026-11-20", "settlement_date": None, "commission": "5.00"}
              for i in range(10_000)]
    raw = json.dumps({"trades": trades})
    assert 2_000_000 < len(raw) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = fo_client.post("/api/v1/trades/bulk/", data=raw, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    out = response.json()
    assert (out["created"], out["duplicates"], out["rejected"]) == (10_000, 0, 0)


# Query parameters: a malformed one is a 400 naming it, never silently ignored.

@pytest.mark.parametrize(("query", "field"), [
    ("/api/v1/instruments/?page=", "page"), ("/api/v1/instruments/?page=0", "page"),
    ("/api/v1/instruments/?page=x", "page"), ("/api/v1/instruments/?page=1&page=2", "page"),
    ("/api/v1/instruments/?page_size=10&page_size=20", "page_size"),
    ("/api/v1/counterparties/?is_ccp=1", "is_ccp"), ("/api/v1/counterparties/?is_ccp=maybe", "is_ccp"),
    ("/api/v1/prices/?date_from=", "date_from"), ("/api/v1/trades/?side=", "side"),
    ("/api/v1/trades/?account=A&account=B", "account"),
])
def test_a_malformed_query_parameter_is_a_400(admin_client_api, instruments, query, field):
    response = admin_client_api.get(query)
    assert response.status_code == 400, response.content[:200]
    assert list(response.json()) == [field]


def test_well_formed_filters_still_filter(admin_client_api, counterparties):
    response = admin_client_api.get("/api/v1/counterparties/?is_ccp=true&page=1&page_size=5&clears_through=")
    assert response.status_code == 200, response.content[:200]
    assert [row["code"] for row in response.json()["results"]] == ["NSCC"]


# Errors of views that render their own formats (the schema's YAML) are JSON too, headers kept.

@pytest.mark.parametrize("debug", [False, True])
def test_a_wrong_method_is_a_json_405_with_allow(fo_client, settings, debug):
    settings.DEBUG = debug
    for path in ("/api/schema/", "/api/v1/instruments/"):
        response = fo_client.delete(path)
        assert response.status_code == 405, path
        assert response["Content-Type"] == "application/json", path
        assert response.json() == {"detail": 'Method "DELETE" not allowed.'}
        assert "GET" in response["Allow"]


def test_the_schema_without_a_token_is_a_json_401(client):
    response = client.get("/api/schema/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Unauthorized."}
