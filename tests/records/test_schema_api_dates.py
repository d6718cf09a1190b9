"""Every date the API reads, in a body or a query, is YYYY-MM-DD and nothing else (API.md: Conventions).

One rule (backoffice.core.fields.parse_date) behind StrictDateField and StrictDateFilter: the
spellings DRF and django-filter would otherwise take ("20261120", "11/20/2026", "2026-2-1") are a
400 naming the parameter, never read as some other day.
"""

import json

import pytest

from tests.conftest import APPLE

pytestmark = pytest.mark.django_db

BAD_DATES = ["20261120", "11/20/2026", "2026-2-1", "2026-11-31", "2026-11-20T00:00", "today"]

QUERIES = [
    ("/api/v1/trades/?trade_date={}", "trade_date"),
    ("/api/v1/trades/?settlement_date={}", "settlement_date"),
    ("/api/v1/trades/?trade_date_from={}", "trade_date_from"),
    ("/api/v1/trades/?trade_date_to={}", "trade_date_to"),
    ("/api/v1/cash/?date_from={}", "date_from"),
    ("/api/v1/records/audit/?date_to={}", "date_to"),
    ("/api/v1/prices/?date_from={}", "date_from"),
    ("/api/v1/inventory/?as_of={}", "as_of"),
    (f"/api/v1/instruments/{APPLE}/price/?as_of={{}}", "as_of"),
    (f"/api/v1/settlement-date/?instrument={APPLE}&trade_date={{}}", "trade_date"),
    ("/api/v1/records/exports/trades.csv?date_from={}&date_to=2026-11-20", "date_from"),
    ("/api/v1/records/manifests/?business_date={}", "business_date"),
]


@pytest.mark.parametrize("bad", BAD_DATES)
@pytest.mark.parametrize(("url", "param"), QUERIES)
def test_a_query_date_in_another_spelling_is_a_400_naming_the_parameter(admin_client_api, instruments, url,
                                                                         param, bad):
    response = admin_client_api.get(url.format(bad))
    assert response.status_code == 400, (url, bad, response.content)
    assert param in response.json(), response.json()


@pytest.mark.parametrize(("url", "param"), QUERIES)
def test_a_query_date_as_yyyy_mm_dd_is_read(admin_client_api, instruments, url, param):
    response = admin_client_api.get(url.format("2026-11-20"))
    # The latest price on or before a day without prices is a 404 (API.md); everything else answers.
    expected = 404 if url.startswith(f"/api/v1/instruments/{APPLE}/price/") else 200
    assert response.status_code == expected, (url, response.content)


@pytest.mark.parametrize("bad", BAD_DATES)
@pytest.mark.parametrize(("url", "body", "param"), [
    ("/api/v1/prices/", {"instrument": APPLE, "price": "189.25"}, "price_date"),
    ("/api/v1/fx-rates/", {"base_currency": "EUR", "quote_currency": "USD", "rate": "1.05"}, "rate_date"),
])
def test_a_body_date_in_another_spelling_is_a_400_and_stores_nothing(admin_client_api, instruments, url, body,
                                                                      param, bad):
    from records.reference.models import FxRate, Price

    response = admin_client_api.post(url, data=json.dumps({**body, param: bad}), content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == [param]
    assert (Price.objects.count(), FxRate.objects.count()) == (0, 0)
