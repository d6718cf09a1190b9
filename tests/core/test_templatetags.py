"""How the dashboards write numbers and statuses."""

from decimal import Decimal

import pytest

from backoffice.core.templatetags.dashboard import amount, price, qty, status_pill, status_tone, times


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("1250.000000"), "1,250"),
    (Decimal("12.500000"), "12.5"),
    (Decimal("-1234567.25"), "-1,234,567.25"),
    (Decimal("0.000000"), "0"),
    (None, ""),
])
def test_quantities_are_grouped_without_trailing_zeros(value, expected):
    assert qty(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("189.25000000"), "189.25"),
    (Decimal("100"), "100.00"),
    (Decimal("0.12345678"), "0.12345678"),
    (Decimal("1234.5"), "1,234.50"),
])
def test_prices_keep_two_to_eight_decimals(value, expected):
    assert price(value) == expected


@pytest.mark.parametrize(("value", "currency", "expected"), [
    (Decimal("1234.5"), "USD", "1,234.50"),
    (Decimal("-156079.8300"), "USD", "-156,079.83"),
    (Decimal("1234.5"), "JPY", "1,235"),
    (Decimal("1.2345"), "BHD", "1.235"),
    (Decimal("0.004"), "USD", "0.00"),
    (Decimal("-0.004"), "USD", "0.00"),
    (Decimal("10"), None, "10.00"),
    (Decimal("10"), "XXX-not-a-currency", "10.00"),
])
def test_amounts_use_the_minor_units_of_their_currency(value, currency, expected):
    assert amount(value, currency) == expected


def test_times_multiplies_exactly_and_tolerates_a_missing_price():
    assert times(Decimal("100"), Decimal("190.10")) == Decimal("19010.00")
    assert times(Decimal("100"), None) is None


@pytest.mark.parametrize(("status", "tone"), [
    ("ACTIVE", "ok"), ("SETTLED", "ok"),
    ("PENDING", "warn"), ("HELD", "warn"), ("SUSPENDED", "warn"),
    ("FAILED", "bad"), ("CLOSED", "bad"), ("REJECTED", "bad"),
    ("CANCELLED", "muted"),
    ("NEW", "neutral"), ("", "neutral"),
])
def test_status_colours(status, tone):
    assert status_tone(status) == tone


def test_status_pill_escapes_and_defaults_its_label():
    assert status_pill("PARTIALLY_SETTLED") == (
        '<span class="pill pill-warn" title="PARTIALLY_SETTLED">Partially settled</span>')
    assert status_pill("<b>", "<i>") == '<span class="pill pill-neutral" title="&lt;b&gt;">&lt;i&gt;</span>'
