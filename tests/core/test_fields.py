"""Decimals: strings or integers in, never a binary float, never silently rounded."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from backoffice.core.fields import PRICE, QUANTITY, StrictDecimalField, format_decimal


class Body(serializers.Serializer):
    quantity = StrictDecimalField(kind=QUANTITY, positive=True)
    price = StrictDecimalField(kind=PRICE, required=False)


@pytest.mark.parametrize(("given_value", "expected"), [
    ("100", Decimal("100")), (100, Decimal("100")), ("50.25", Decimal("50.25")),
    (Decimal("50.25"), Decimal("50.25")), ("5.000000000", Decimal("5")), ("0.000001", Decimal("0.000001")),
])
def test_accepts_strings_integers_and_exact_decimals(given_value, expected):
    body = Body(data={"quantity": given_value})
    assert body.is_valid(), body.errors
    assert body.validated_data["quantity"] == expected


@pytest.mark.parametrize("bad", [
    0.1 + 0.2, 100.5, "1.0000001", "-1", "0", "abc", "", "NaN", "Infinity", "-Infinity", True, None, [], {},
    "1e30", "+5", "1 000", "１２",
])
def test_refuses_floats_noise_too_many_places_and_junk(bad):
    body = Body(data={"quantity": bad})
    assert not body.is_valid()
    assert "quantity" in body.errors


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=Decimal("-1e12"),
                   max_value=Decimal("1e12")))
def test_format_decimal_round_trips(value):
    assert Decimal(format_decimal(value)) == value
    assert "E" not in format_decimal(value) and "e" not in format_decimal(value)


def test_format_decimal_drops_trailing_zeros_only():
    assert [format_decimal(Decimal(x)) for x in ("100.000", "189.250", "0.00", "-0.5", "1E+2")] == [
        "100", "189.25", "0", "-0.5", "100"]


class _NotPlainStr(str):
    """Text that is not exactly a str: parse_decimal takes it through its full rule, never its fast path."""


@settings(max_examples=500)
@given(text=st.one_of(st.from_regex(r"\A-?[0-9]{0,22}(\.[0-9]{0,10})?\Z"), st.text(max_size=30),
                      st.decimals(allow_nan=False, allow_infinity=False).map(str)))
def test_the_plain_decimal_fast_path_agrees_with_the_full_rule(text):
    from backoffice.core.fields import AMOUNT, InputError, parse_decimal

    for options in ({"kind": QUANTITY, "positive": True}, {"kind": PRICE, "positive": True},
                    {"kind": AMOUNT, "non_negative": True}, {"kind": AMOUNT, "nonzero": True}):
        try:
            fast = parse_decimal(text, **options)
        except InputError as exc:
            fast = exc.message
        try:
            full = parse_decimal(_NotPlainStr(text), **options)
        except InputError as exc:
            full = exc.message
        assert fast == full and str(fast) == str(full), (text, options)
