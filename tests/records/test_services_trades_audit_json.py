"""The booked trade's audit copy is built as text straight from its row: it must be, byte for byte,
what the generic canonical serializer makes of the trade's values (or verification would fail).
(tests/records/test_services_trades_row.py holds it to audit.snapshot of trades really booked.)"""

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core.canonical import canonical_json
from backoffice.core.fields import format_decimal
from records.audit.services.audit import _canonical_json
from records.trades.services import TradeRow, _trade_audit_json

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=20)
decimals = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("999999999999"), places=6,
                       allow_nan=False, allow_infinity=False)
ids = st.integers(min_value=1, max_value=2**62)
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1))


@settings(max_examples=300, deadline=None)
@given(trade_id=ids, external_ref=text, submitter=ids, account_id=ids, counterparty_id=ids,
       instrument_id=ids, side=st.sampled_from(["BUY", "SELL"]), quantity=decimals, price=decimals,
       commission=decimals | st.just(Decimal(0)), currency=st.sampled_from(["USD", "EUR", "GBP"]),
       trade_date=days, settlement_date=days, holds=st.lists(text, max_size=3), request_hash=text)
def test_the_fast_audit_json_is_the_canonical_serialization(trade_id, external_ref, submitter, account_id,
                                                            counterparty_id, instrument_id, side, quantity, price,
                                                            commission, currency, trade_date, settlement_date,
                                                            holds, request_hash):
    status = "HELD" if holds else "BOOKED"
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    # The row as booking writes it: decimals, dates and times as their text, holds as JSON text.
    row = TradeRow(
        id=trade_id, external_ref=external_ref, submitted_by_id=submitter, account_id=account_id,
        counterparty_id=counterparty_id, instrument_id=instrument_id, side=side, quantity=format_decimal(quantity),
        price=format_decimal(price), currency=currency, trade_date=trade_date.isoformat(),
        settlement_date=settlement_date.isoformat(), commission=format_decimal(commission), status=status,
        match_status="UNMATCHED", version=1, settled_quantity="0", request_hash=request_hash,
        hold_reasons=canonical_json(holds) if holds else "[]", created_at=now.isoformat(),
        updated_at=now.isoformat())
    # What the generic path serializes: the trade's values in JSON's own types.
    values = {
        "id": trade_id, "external_ref": external_ref, "submitted_by_id": submitter, "account_id": account_id,
        "counterparty_id": counterparty_id, "instrument_id": instrument_id, "side": side,
        "quantity": format_decimal(quantity), "price": format_decimal(price), "currency": currency,
        "trade_date": trade_date.isoformat(), "settlement_date": settlement_date.isoformat(),
        "commission": format_decimal(commission), "status": status, "match_status": "UNMATCHED", "version": 1,
        "settled_quantity": "0", "request_hash": request_hash, "hold_reasons": holds,
    }
    assert _trade_audit_json(row) == _canonical_json(values)
