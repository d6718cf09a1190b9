"""Books and records to look at: reference data, prices, cash and positions, built through the services."""

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from stdnum import isin as stdnum_isin
from stdnum.iso7064 import mod_97_10

from records.cash.services import cash_movement_create
from records.positions.models import Position
from records.positions.services import stock_movement_create
from records.reference.models import Instrument, Market
from records.reference.services import reference
from records.reference.services.calendar import is_trading_session


def price(instrument: Instrument, price_date: date, value: str, *, source: str = "DEFAULT") -> None:
    reference.price_upsert(actor="test", prices=[reference.PriceInput(
        instrument=instrument, price_date=price_date, price=Decimal(value), currency=instrument.currency,
        source=source)])


def cash(account, currency: str, amount: str, reference_: str, *, value_date: date | None = None) -> None:
    cash_movement_create(actor="test", account=account, currency=currency, amount=Decimal(amount),
                         value_date=value_date or date.today(), reference=reference_)


def stock(account, instrument, quantity: str, reference_: str, *, value_date: date | None = None) -> None:
    stock_movement_create(actor="test", account=account, instrument=instrument, quantity=Decimal(quantity),
                          value_date=value_date or date.today(), reference=reference_)


def trading_days_before(day: date, count: int) -> list[date]:
    """The last `count` days on or before day on which every demo market trades, newest first
    (trade capture refuses a trade dated when its exchange is closed)."""
    markets = [Market(mic=mic) for mic in sorted({row[5] for row in DEMO_INSTRUMENTS})]
    days = []
    while len(days) < count:
        if all(is_trading_session(market=market, day=day) for market in markets):
            days.append(day)
        day -= timedelta(days=1)
    return days


def _isin(body: str) -> str:
    return body + stdnum_isin.calc_check_digit(body)


def _lei(body: str) -> str:
    return body + mod_97_10.calc_check_digits(body)


# ISIN without check digit, symbol, name, asset class, currency, MIC, base price.
DEMO_INSTRUMENTS = [
    ("US037833100", "AAPL", "Apple Inc.", "EQUITY", "USD", "XNAS", "189.25"),
    ("US594918104", "MSFT", "Microsoft Corp.", "EQUITY", "USD", "XNAS", "415.10"),
    ("US67066G104", "NVDA", "NVIDIA Corp.", "EQUITY", "USD", "XNAS", "131.38"),
    ("US023135106", "AMZN", "Amazon.com Inc.", "EQUITY", "USD", "XNAS", "186.40"),
    ("US459200101", "IBM", "International Business Machines Corp.", "EQUITY", "USD", "XNYS", "224.75"),
    ("US46625H100", "JPM", "JPMorgan Chase & Co.", "EQUITY", "USD", "XNYS", "212.02"),
    ("US78462F103", "SPY", "SPDR S&P 500 ETF Trust", "ETF", "USD", "XNYS", "571.44"),
    ("US91282CJL6", "T 4.5 11/33", "US Treasury 4.5% 15-Nov-2033", "GOVT_BOND", "USD", "XNYS", "99.8125"),
    ("US037833DX5", "AAPL 3.85 43", "Apple Inc. 3.85% 2043", "CORP_BOND", "USD", "XNYS", "87.431"),
    ("DE000716460", "SAP", "SAP SE", "EQUITY", "EUR", "XETR", "187.36"),
    ("DE000723610", "SIE", "Siemens AG", "EQUITY", "EUR", "XETR", "176.90"),
    ("NL001027321", "ASML", "ASML Holding N.V.", "EQUITY", "EUR", "XAMS", "642.30"),
    ("FR000013110", "BNP", "BNP Paribas S.A.", "EQUITY", "EUR", "XPAR", "61.27"),
    ("GB00BH4HKS3", "VOD", "Vodafone Group plc", "EQUITY", "GBP", "XLON", "0.7126"),
    ("GB000540528", "HSBA", "HSBC Holdings plc", "EQUITY", "GBP", "XLON", "6.894"),
    ("IE00B5BMR08", "CSPX", "iShares Core S&P 500 UCITS ETF", "ETF", "USD", "XLON", "552.18"),
]

# code, name, kind, base currency, status, credit limit
DEMO_ACCOUNTS = [
    ("HOUSE", "House proprietary", "HOUSE", "USD", "ACTIVE", "0"),
    ("HOUSE-EU", "House proprietary Europe", "HOUSE", "EUR", "ACTIVE", "0"),
    ("C-100231", "Meridian Capital Partners LP", "CLIENT", "USD", "ACTIVE", "250000"),
    ("C-100245", "Northgate Pension Fund", "CLIENT", "USD", "ACTIVE", "0"),
    ("C-100318", "Alder & Finch Family Office", "CLIENT", "USD", "SUSPENDED", "0"),
    ("C-100402", "Halvorsen Asset Management AS", "CLIENT", "EUR", "ACTIVE", "100000"),
    ("C-100477", "Brightwater Trading Ltd", "CLIENT", "GBP", "CLOSED", "0"),
]

# code, name, LEI body, is CCP, clears through, requires matching
DEMO_COUNTERPARTIES = [
    ("NSCC", "National Securities Clearing Corp.", "549300EXMNSS6W5ZD8", True, None, False),
    ("LCH", "LCH Ltd", "F226TOH6YD6XJB17KS", True, None, False),
    ("GSCO", "Goldman Sachs & Co. LLC", "FOR8UP27PHTHYVLBNG", False, "NSCC", True),
    ("MSCO", "Morgan Stanley & Co. LLC", "9R7GPTSO7KV3UQJZQ0", False, "NSCC", True),
    ("BARC", "Barclays Bank plc", "G5GSEF7VJP5I7OUK5N", False, "LCH", True),
    ("JEFF", "Jefferies LLC", "58PU97L1C0WSRCWADL", False, None, True),
]


@transaction.atomic
def build_demo_book(*, today: date) -> dict:
    """Create a small but realistic book: 16 instruments, 7 accounts, 6 counterparties, 5 days of prices,
    cash in three currencies and a dozen positions."""
    assert Market.objects.filter(mic="XNAS").exists(), "markets come from the migrations"
    instruments = {}
    for body, symbol, name, asset_class, currency, mic, _price in DEMO_INSTRUMENTS:
        instruments[symbol] = reference.instrument_create(
            actor="test", isin=_isin(body), symbol=symbol, name=name, asset_class=asset_class,
            currency=currency, market=mic)
    accounts = {
        code: reference.account_create(actor="test", code=code, name=name, kind=kind, base_currency=ccy,
                                       status="ACTIVE", credit_limit=Decimal(limit))
        for code, name, kind, ccy, _status, limit in DEMO_ACCOUNTS
    }
    counterparties = {}
    for code, name, lei_body, is_ccp, clears_through, requires_matching in DEMO_COUNTERPARTIES:
        counterparties[code] = reference.counterparty_create(
            actor="test", code=code, name=name, lei=_lei(lei_body), is_ccp=is_ccp, clears_through=clears_through,
            requires_matching=requires_matching)
    # Prices for the last five weekdays; the two bonds missed the latest run.
    for offset, day in enumerate(trading_days_before(today, 5)):
        for _body, symbol, *_rest, base in DEMO_INSTRUMENTS:
            if symbol.startswith(("T ", "AAPL ")) and offset == 0:
                continue
            drift = Decimal(1) + Decimal(offset - 2) / Decimal(150)
            price(instruments[symbol], day, str((Decimal(base) * drift).quantize(Decimal(base))))
    # Cash and positions are booked while every account is active; statuses change afterwards.
    cash_rows = [
        ("HOUSE", "USD", "25000000"), ("HOUSE", "EUR", "4200000"), ("HOUSE-EU", "EUR", "8750000.50"),
        ("C-100231", "USD", "1843920.17"), ("C-100231", "USD", "-2000000"), ("C-100245", "USD", "12500000"),
        ("C-100318", "USD", "310455.80"), ("C-100402", "EUR", "2650000"), ("C-100402", "GBP", "125000"),
        ("C-100477", "GBP", "18.42"),
    ]
    for n, (code, ccy, amount) in enumerate(cash_rows):
        cash(accounts[code], ccy, amount, f"DEMO-CASH-{n}", value_date=today)
    stock_rows = [
        ("HOUSE", "AAPL", "150000"), ("HOUSE", "MSFT", "42000"), ("HOUSE", "SPY", "8000"),
        ("HOUSE", "T 4.5 11/33", "5000000"), ("HOUSE-EU", "SAP", "30000"), ("HOUSE-EU", "ASML", "2500"),
        ("C-100231", "NVDA", "12500"), ("C-100231", "AMZN", "3100"), ("C-100245", "IBM", "900"),
        ("C-100245", "JPM", "4400"), ("C-100245", "AAPL 3.85 43", "750000"), ("C-100402", "SIE", "1200"),
        ("C-100402", "VOD", "125000.5"),
    ]
    for n, (code, symbol, quantity) in enumerate(stock_rows):
        stock(accounts[code], instruments[symbol], quantity, f"DEMO-STOCK-{n}", value_date=today)
    # Booked trades not yet settled move only the trade-date position (trade capture comes later).
    for code, symbol, quantity in [("HOUSE", "MSFT", "-12000"), ("C-100231", "NVDA", "2500")]:
        Position.objects.filter(account=accounts[code], instrument=instruments[symbol]).update(
            traded_quantity=F("traded_quantity") + Decimal(quantity))
    for code, _name, _kind, _ccy, status, _limit in DEMO_ACCOUNTS:
        if status != "ACTIVE":
            reference.account_update(actor="test", account=accounts[code], changes={"status": status})
    return {"instruments": instruments, "accounts": accounts, "counterparties": counterparties}
