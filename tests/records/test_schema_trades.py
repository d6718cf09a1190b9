"""The trade body has two readers: parse_trade, which the endpoints run, and TradeInputSchema, which the
OpenAPI schema is generated from. Fed the same bodies, valid or mangled, they must give the same
verdict, refuse the same fields and, when they accept, read the same values."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from records.trades.api.serializers import TradeInputSchema
from records.trades.input import FIELDS, parse_trade
from tests.conftest import APPLE

GOOD = {"external_ref": "OMS-000123", "account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE,
        "side": "BUY", "quantity": "100", "price": "189.25", "currency": "USD", "trade_date": "2026-11-20",
        "settlement_date": None, "commission": "5.00"}


def verdicts(body):
    """(parser's errors, schema's errors, parser's values, schema's values) for one body."""
    item, errors = parse_trade(body)
    schema = TradeInputSchema(data=body)
    schema.is_valid()
    parsed = None if item is None else {name: getattr(item, name) for name in FIELDS}
    validated = None
    if not schema.errors:
        validated = {name: schema.validated_data.get(name) for name in FIELDS}
        if validated["commission"] is None:
            validated["commission"] = Decimal(0)  # absent or null: the default, as parse_trade gives it
    return errors, dict(schema.errors), parsed, validated


def assert_agree(body):
    errors, schema_errors, parsed, validated = verdicts(body)
    assert set(errors) == set(schema_errors), (body, errors, schema_errors)
    if not errors:
        assert parsed == validated, body
        # Same values, and the same text of each decimal (what the request hash is made of).
        assert {k: str(v) for k, v in parsed.items()} == {k: str(v) for k, v in validated.items()}, body


# The bodies ------------------------------------------------------------------------------------------

printable = st.characters(categories=("L", "N", "P", "S"), exclude_characters="\x85")
codes = st.text(st.sampled_from("ABCXYZ0123456789-._/"), min_size=1, max_size=30)
decimal_text = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("99999999"), places=6,
                           allow_nan=False, allow_infinity=False).map(str)
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)).map(dt.date.isoformat)


@st.composite
def valid_bodies(draw):
    body = {
        "external_ref": draw(st.text(printable, min_size=1, max_size=64)),
        "account": draw(codes),
        "counterparty": draw(codes),
        "instrument": draw(st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), min_size=1,
                                   max_size=12)),
        "side": draw(st.sampled_from(["BUY", "SELL"])),
        "quantity": draw(decimal_text | st.integers(1, 10**9)),
        "price": draw(decimal_text | st.integers(1, 10**6)),
        "trade_date": draw(days),
    }
    optional = {
        "currency": st.sampled_from(["USD", "EUR", "GBP", "JPY", None]),
        "settlement_date": days | st.none(),
        "commission": st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False,
                                  allow_infinity=False).map(str) | st.integers(0, 100) | st.none(),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            body[name] = draw(values)
    return body


# What clients get wrong: wrong types, text that is not text, codes and dates in other shapes, numbers
# that are floats, signed, zero or too precise, and whitespace.
junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**20), st.floats(allow_nan=True), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([
        "", " ", "\t", "A\tB", "tab\t", "\tlead", "nul\x00", "line\nbreak", "\u202eRTL", "bell\x07", "x" * 65, "x" * 31,
        "XYZ", "usd", "US", "EURO", " USD", "USD ", "eur",
        "20261120", "2026-2-1", "2026-02-30", "2026-11-20T00:00", " 2026-11-20", "2026-11-20 ", "2026/11/20",
        "１２", "٣", "2026-11-2０",
        "-1", "0", "0.0", "-0", "1.0000000001", "1.123456789", "1e3", "1E+2", "+5", "NaN", "Infinity", " 100 ",
        "00100", "0.00001", "12345678901234567890", "1 000", "1,5", "5.", ".5",
        "BUY", "SELL", "buy", " BUY", "HOLD",
    ]),
    st.sampled_from([Decimal("1.5"), Decimal("1.123456789"), Decimal("-2"), Decimal("NaN"), Decimal("1E+30")]),
    st.text(max_size=8),
)


@st.composite
def mangled_bodies(draw):
    body = draw(valid_bodies())
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from([*FIELDS, "unknown_field"]))
        if draw(st.integers(0, 4)) == 0:
            body.pop(name, None)
        else:
            body[name] = draw(junk)
    return body


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=valid_bodies() | mangled_bodies())
@example(body={**GOOD, "external_ref": "OMS\t1"})
@example(body={**GOOD, "currency": "XYZ"})
@example(body={**GOOD, "trade_date": "20261120"})
@example(body={**GOOD, "external_ref": 123})
@example(body={**GOOD, "settlement_date": "2026-2-1"})
@example(body={**GOOD, "commission": None})
@example(body={**GOOD, "currency": " USD "})
def test_the_parser_and_the_documented_schema_agree_on_every_body(body):
    assert_agree(body)


@pytest.mark.parametrize(("field", "value"), [
    ("external_ref", "OMS\t1"), ("external_ref", 123), ("account", "ACC\n001"), ("currency", "XYZ"),
    ("currency", "usd"), ("currency", 840), ("trade_date", "20261120"), ("trade_date", "2026-2-1"),
    ("settlement_date", "2026-11-23T00:00"), ("quantity", 0.5), ("price", "1.000000001"), ("commission", "-1"),
])
def test_both_refuse_what_the_endpoint_refuses_under_the_same_field(field, value):
    errors, schema_errors, _, _ = verdicts({**GOOD, field: value})
    assert set(errors) == set(schema_errors) == {field}
    assert errors[field] == [str(message) for message in schema_errors[field]]


def test_both_read_a_good_body_the_same_way():
    _, _, parsed, validated = verdicts(GOOD)
    assert parsed == validated == {
        "external_ref": "OMS-000123", "account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE,
        "side": "BUY", "quantity": Decimal("100"), "price": Decimal("189.25"), "currency": "USD",
        "trade_date": dt.date(2026, 11, 20), "settlement_date": None, "commission": Decimal("5.00")}


@pytest.mark.django_db
def test_the_openapi_schema_documents_the_rules(fo_client):
    components = fo_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    trade = components["TradeInputSchemaRequest"]["properties"]
    assert trade["currency"]["allOf"] == [{"$ref": "#/components/schemas/Currency"}] and trade["currency"]["nullable"]
    currencies = components["Currency"]["enum"]
    assert {"USD", "EUR", "JPY"} <= set(currencies) and "XYZ" not in currencies
    assert (trade["trade_date"]["format"], trade["settlement_date"]["format"]) == ("date", "date")
    assert trade["commission"]["nullable"] and trade["external_ref"]["maxLength"] == 64


def test_the_documented_trade_body_is_the_parsed_one():
    assert tuple(TradeInputSchema().fields) == FIELDS
