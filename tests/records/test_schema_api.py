"""Cross-cutting API guarantees: throttling, no 500 for anything a client sends, an unknown ?format= ignored."""

import json

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.settings import api_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight_throttle():
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "token": "3/min"}
    cache.clear()
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    yield
    SimpleRateThrottle.THROTTLE_RATES = original
    cache.clear()


def test_throttling_per_token_answers_429_with_retry_after(tight_throttle, fo_client, ops_client, instruments):
    for _ in range(3):
        assert fo_client.get("/api/v1/instruments/").status_code == 200
    response = fo_client.get("/api/v1/instruments/")
    assert response.status_code == 429
    assert "throttled" in response.json()["detail"].lower()
    assert int(response["Retry-After"]) > 0
    # Another token has its own allowance.
    assert ops_client.get("/api/v1/instruments/").status_code == 200


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["/api/v1/trades/", "/api/v1/trades/bulk/", "/api/v1/instruments/",
                                  "/api/v1/accounts/", "/api/v1/counterparties/", "/api/v1/prices/",
                                  "/api/v1/cash/", "/api/v1/approvals/"])
@pytest.mark.parametrize("raw", [
    "", "{", "[]", "null", "1e999999", '"\\ud800"', '{"a": ' * 2000 + "1" + "}" * 2000,
    json.dumps({"trades": [{"quantity": {"nested": [1, 2]}}]}), json.dumps({"external_ref": ["x"]}),
    '{"quantity": 1e400}', '{"price": -0.0}', json.dumps({"account": "\u202e\u0000"}),
])
def test_no_body_a_client_sends_gives_a_500(admin_client_api, instruments, accounts, counterparties, path, raw):
    response = admin_client_api.post(path, data=raw, content_type="application/json")
    assert response.status_code < 500, (path, raw[:60], response.content[:300])


@pytest.mark.parametrize("fmt", ["xml", "csv", "", "%00", "json"])
def test_an_unknown_format_parameter_is_ignored_not_a_404(fo_client, instruments, fmt):
    response = fo_client.get(f"/api/v1/instruments/?format={fmt}")
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["count"] == 4
