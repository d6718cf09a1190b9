"""A believable demo firm for trying the platform out (``manage.py load_demo``).

Reference data (instruments with real ISINs, accounts, counterparties with valid LEIs), 30 business
days of prices and FX rates, funded cash and opening positions. Everything is written through the
records services, so the audit trail holds it, and everything is idempotent: each record has a
business key or a deterministic reference, and a rerun creates nothing twice and changes nothing.

The firm itself (reference data, cash, opening positions) is fixed; the seed drives only the
price paths, the FX rates and the demo trades.
"""

import datetime as dt
import math
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache

from django.db import transaction
from django.utils import timezone

from backoffice.core.context import correlation
from backoffice.core.fields import format_decimal
from records.cash import services as cash
from records.cash.models import CashMovement
from records.positions import services as positions
from records.positions.models import Position, StockMovement
from records.reference.models import Account, Counterparty, FxRate, Instrument, Price
from records.reference.services import reference
from records.reference.services.calendar import is_trading_session, market_today
from records.reference.services.reference import PriceInput

DEMO_ACTOR = "job:load_demo"
DEFAULT_SEED = 7
PRICE_DAYS = 30
PRICE_SOURCE = "DEMO"
FX_SOURCE = "DEMO"

EQUITY = Instrument.AssetClass.EQUITY
ETF = Instrument.AssetClass.ETF
GOVT_BOND = Instrument.AssetClass.GOVT_BOND
CORP_BOND = Instrument.AssetClass.CORP_BOND
BONDS = frozenset({GOVT_BOND, CORP_BOND})
US_MARKETS = frozenset({"XNYS", "XNAS"})
MARKET_CURRENCY = {"XNYS": "USD", "XNAS": "USD", "XLON": "GBP", "XETR": "EUR"}


# Reference data ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoInstrument:
    isin: str
    symbol: str
    name: str
    asset_class: str
    market: str
    level: Decimal  # a realistic price level the demo prices walk around

    @property
    def currency(self) -> str:
        return MARKET_CURRENCY[self.market]

    @property
    def price_places(self) -> int:
        """Decimal places of a quote: 3 for bonds (per 100 nominal), 4 for penny shares, else 2."""
        if self.asset_class in BONDS:
            return 3
        return 4 if self.level < 10 else 2

    @property
    def lot(self) -> int:
        """The round lot trades and positions are sized in."""
        if self.asset_class in BONDS:
            return 1000
        if self.level < 10:
            return 1000
        return 10 if self.level >= 500 else 100


def _i(isin, symbol, name, asset_class, market, level) -> DemoInstrument:
    return DemoInstrument(isin, symbol, name, asset_class, market, Decimal(level))


# Real ISINs of well-known securities (tests check every check digit). Bond quantities are units
# priced per 100 nominal, so a quantity times a price is the cash amount as for a share.
# SPY and VTI are listed on NYSE Arca; the demo books them on XNYS, whose calendar they share.
INSTRUMENTS: tuple[DemoInstrument, ...] = (
    # Nasdaq
    _i("US0378331005", "AAPL", "Apple Inc.", EQUITY, "XNAS", "228.50"),
    _i("US5949181045", "MSFT", "Microsoft Corporation", EQUITY, "XNAS", "425.00"),
    _i("US0231351067", "AMZN", "Amazon.com, Inc.", EQUITY, "XNAS", "205.00"),
    _i("US02079K3059", "GOOGL", "Alphabet Inc. Class A", EQUITY, "XNAS", "172.00"),
    _i("US30303M1027", "META", "Meta Platforms, Inc. Class A", EQUITY, "XNAS", "575.00"),
    _i("US67066G1040", "NVDA", "NVIDIA Corporation", EQUITY, "XNAS", "135.00"),
    _i("US88160R1014", "TSLA", "Tesla, Inc.", EQUITY, "XNAS", "255.00"),
    _i("US17275R1023", "CSCO", "Cisco Systems, Inc.", EQUITY, "XNAS", "58.00"),
    _i("US7134481081", "PEP", "PepsiCo, Inc.", EQUITY, "XNAS", "150.00"),
    _i("US64110L1061", "NFLX", "Netflix, Inc.", EQUITY, "XNAS", "720.00"),
    _i("US22160K1051", "COST", "Costco Wholesale Corporation", EQUITY, "XNAS", "890.00"),
    _i("US00724F1012", "ADBE", "Adobe Inc.", EQUITY, "XNAS", "480.00"),
    _i("US46090E1038", "QQQ", "Invesco QQQ Trust, Series 1", ETF, "XNAS", "495.00"),
    # New York Stock Exchange
    _i("US46625H1005", "JPM", "JPMorgan Chase & Co.", EQUITY, "XNYS", "240.00"),
    _i("US1912161007", "KO", "The Coca-Cola Company", EQUITY, "XNYS", "68.00"),
    _i("US4781601046", "JNJ", "Johnson & Johnson", EQUITY, "XNYS", "155.00"),
    _i("US30231G1022", "XOM", "Exxon Mobil Corporation", EQUITY, "XNYS", "115.00"),
    _i("US7427181091", "PG", "The Procter & Gamble Company", EQUITY, "XNYS", "168.00"),
    _i("US4592001014", "IBM", "International Business Machines Corporation", EQUITY, "XNYS", "225.00"),
    _i("US38141G1040", "GS", "The Goldman Sachs Group, Inc.", EQUITY, "XNYS", "560.00"),
    _i("US92826C8394", "V", "Visa Inc. Class A", EQUITY, "XNYS", "300.00"),
    _i("US5801351017", "MCD", "McDonald's Corporation", EQUITY, "XNYS", "295.00"),
    _i("US1667641005", "CVX", "Chevron Corporation", EQUITY, "XNYS", "155.00"),
    _i("US78462F1030", "SPY", "SPDR S&P 500 ETF Trust", ETF, "XNYS", "590.00"),
    _i("US9229087690", "VTI", "Vanguard Total Stock Market ETF", ETF, "XNYS", "290.00"),
    _i("US9128284N73", "T 2.875 05/15/28", "US Treasury Note 2.875% 15/05/2028", GOVT_BOND, "XNYS", "97.50"),
    _i("US91282CFV81", "T 4.125 11/15/32", "US Treasury Note 4.125% 15/11/2032", GOVT_BOND, "XNYS", "100.25"),
    _i("US912810TL26", "T 4 11/15/52", "US Treasury Bond 4% 15/11/2052", GOVT_BOND, "XNYS", "96.00"),
    _i("US037833AL42", "AAPL 3.85 05/04/43", "Apple Inc. 3.85% Notes 04/05/2043", CORP_BOND, "XNYS", "98.00"),
    _i("US084670BK32", "BRK 4.5 02/11/43", "Berkshire Hathaway Inc. 4.5% Notes 11/02/2043", CORP_BOND, "XNYS",
       "101.00"),
    # London Stock Exchange (prices in pounds, not pence)
    _i("GB00BH4HKS39", "VOD", "Vodafone Group Plc", EQUITY, "XLON", "0.7240"),
    _i("GB0005405286", "HSBA", "HSBC Holdings Plc", EQUITY, "XLON", "9.2000"),
    _i("GB0007980591", "BP.", "BP p.l.c.", EQUITY, "XLON", "4.5000"),
    _i("GB00BP6MXD84", "SHEL", "Shell plc", EQUITY, "XLON", "27.50"),
    _i("GB0009895292", "AZN", "AstraZeneca PLC", EQUITY, "XLON", "110.00"),
    _i("GB00BN7SWP63", "GSK", "GSK plc", EQUITY, "XLON", "14.50"),
    _i("GB00B10RZP78", "ULVR", "Unilever PLC", EQUITY, "XLON", "46.00"),
    _i("GB0031348658", "BARC", "Barclays PLC", EQUITY, "XLON", "3.1000"),
    _i("GB0008706128", "LLOY", "Lloyds Banking Group plc", EQUITY, "XLON", "0.5800"),
    _i("GB0004893086", "TR32", "UK Treasury 4 1/4% Gilt 07/06/2032", GOVT_BOND, "XLON", "99.00"),
    # Xetra
    _i("DE0007164600", "SAP", "SAP SE", EQUITY, "XETR", "230.00"),
    _i("DE0007236101", "SIE", "Siemens AG", EQUITY, "XETR", "190.00"),
    _i("DE0008404005", "ALV", "Allianz SE", EQUITY, "XETR", "330.00"),
    _i("DE000BASF111", "BAS", "BASF SE", EQUITY, "XETR", "45.00"),
    _i("DE0005557508", "DTE", "Deutsche Telekom AG", EQUITY, "XETR", "30.00"),
    _i("DE000BAY0017", "BAYN", "Bayer AG", EQUITY, "XETR", "27.00"),
    _i("DE0007100000", "MBG", "Mercedes-Benz Group AG", EQUITY, "XETR", "56.00"),
    _i("DE0005190003", "BMW", "Bayerische Motoren Werke AG", EQUITY, "XETR", "78.00"),
    _i("DE0005140008", "DBK", "Deutsche Bank AG", EQUITY, "XETR", "20.00"),
    _i("DE0001102580", "DBR 0 02/15/32", "Bundesrepublik Deutschland 0% Bund 15/02/2032", GOVT_BOND, "XETR", "96.50"),
)
INSTRUMENTS_BY_ISIN = {i.isin: i for i in INSTRUMENTS}


@dataclass(frozen=True)
class DemoCounterparty:
    code: str
    name: str
    lei: str
    is_ccp: bool = False
    clears_through: str | None = None
    requires_matching: bool = True
    # What the demo trades with it: (market, asset class) pairs it deals in.
    deals_in: Callable[[DemoInstrument], bool] = lambda instrument: False


def _us_listed(instrument: DemoInstrument) -> bool:
    return instrument.market in US_MARKETS and instrument.asset_class in (EQUITY, ETF)


def _bilateral(instrument: DemoInstrument) -> bool:
    return not _us_listed(instrument)


def _anything(instrument: DemoInstrument) -> bool:
    return True


# Real LEIs of the dealers. NSCC's is invented (GLEIF-style prefix, ISO 7064 check digits computed
# with stdnum.iso7064.mod_97_10) and is not its registered LEI.
COUNTERPARTIES: tuple[DemoCounterparty, ...] = (
    DemoCounterparty("NSCC", "National Securities Clearing Corporation", "549300NSCCDEMO000174", is_ccp=True,
                     requires_matching=False),
    # US brokers clearing through NSCC; exchange executions arrive locked in (no confirmation to match).
    DemoCounterparty("GSCO", "Goldman Sachs & Co. LLC", "FOR8UP27PHTHYVLBNG30", clears_through="NSCC",
                     deals_in=_us_listed),
    DemoCounterparty("MSCO", "Morgan Stanley & Co. LLC", "9R7GPTSO7KV3UQJZQ078", clears_through="NSCC",
                     deals_in=_us_listed),
    DemoCounterparty("JPMS", "J.P. Morgan Securities LLC", "ZBUT11V806EZRVTWT807", clears_through="NSCC",
                     requires_matching=False, deals_in=_us_listed),
    DemoCounterparty("CGMI", "Citigroup Global Markets Inc.", "MBNUM2BPBDO7JBLYG310", clears_through="NSCC",
                     requires_matching=False, deals_in=_us_listed),
    DemoCounterparty("BOFAS", "BofA Securities, Inc.", "549300HN4UKV1E2R3U73", clears_through="NSCC",
                     deals_in=_us_listed),
    # Bilateral dealers: UK and German markets, and bonds.
    DemoCounterparty("GSI", "Goldman Sachs International", "W22LROWP2IHZNBB6K528", deals_in=_bilateral),
    DemoCounterparty("JPMSPLC", "J.P. Morgan Securities plc", "K6Q0W1PS1L1O4IQL9C32", deals_in=_bilateral),
    DemoCounterparty("BARC", "Barclays Bank PLC", "G5GSEF7VJP5I7OUK5573", deals_in=_bilateral),
    DemoCounterparty("DBAG", "Deutsche Bank AG", "7LTWFZYICNSX8D621K86", deals_in=_anything),
)
COUNTERPARTIES_BY_CODE = {c.code: c for c in COUNTERPARTIES}

# Which instruments an account's opening positions come from.
MANDATES: dict[str, Callable[[DemoInstrument], bool]] = {
    "US_EQUITY": _us_listed,
    "UK_EQUITY": lambda i: i.market == "XLON" and i.asset_class == EQUITY,
    "EU_EQUITY": lambda i: i.market == "XETR" and i.asset_class == EQUITY,
    "GLOBAL_EQUITY": lambda i: i.asset_class in (EQUITY, ETF),
    "BALANCED": _anything,
    "FIXED_INCOME": lambda i: i.asset_class in BONDS,
    "NONE": lambda i: False,
}


@dataclass(frozen=True)
class DemoAccount:
    code: str
    name: str
    kind: str
    base_currency: str
    cost_method: str = Account.CostMethod.FIFO
    status: str = Account.Status.ACTIVE
    credit_limit: Decimal = Decimal("0")
    allow_partial_settlement: bool = True
    funding: tuple[tuple[str, Decimal], ...] = ()  # deposits: (currency, amount)
    mandate: str = "NONE"
    lines: int = 0  # how many opening positions
    size: float = 1.0  # millions of base currency per position, roughly
    # Compliance: the KYC review runs out this many days after the load (negative: expired; None: house
    # accounts, no KYC), and who ultimately owns the account ("": itself).
    kyc_days: int | None = 240
    beneficial_owner: str = ""


HOUSE, CLIENT = Account.Kind.HOUSE, Account.Kind.CLIENT
FIFO, AVERAGE = Account.CostMethod.FIFO, Account.CostMethod.AVERAGE
ERROR_ACCOUNT = "HOUSE-ERR"


def _m(amount: str) -> Decimal:
    return Decimal(amount) * 1_000_000


ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("HOUSE-EQ", "House equity trading book", HOUSE, "USD", FIFO, credit_limit=_m("25"),
                funding=(("USD", _m("150")), ("GBP", _m("20")), ("EUR", _m("25"))),
                mandate="GLOBAL_EQUITY", lines=14, size=2.0, kyc_days=None),
    DemoAccount("HOUSE-FI", "House fixed income book", HOUSE, "USD", AVERAGE, credit_limit=_m("10"),
                funding=(("USD", _m("120")), ("GBP", _m("15")), ("EUR", _m("15"))),
                mandate="FIXED_INCOME", lines=6, size=8.0, kyc_days=None),
    DemoAccount("HOUSE-EU", "House European equities book", HOUSE, "EUR", FIFO,
                funding=(("EUR", _m("40")), ("GBP", _m("15"))), mandate="EU_EQUITY", lines=6, size=1.5,
                kyc_days=None),
    # Trade breaks are booked here and worked out; it starts flat.
    DemoAccount(ERROR_ACCOUNT, "House error account", HOUSE, "USD", FIFO, funding=(("USD", _m("1")),),
                kyc_days=None),
    DemoAccount("CL-PF-001", "Northern Lights Teachers' Pension Plan", CLIENT, "USD", AVERAGE,
                funding=(("USD", _m("85")),), mandate="BALANCED", lines=14, size=4.0, kyc_days=300),
    DemoAccount("CL-PF-002", "Thames Valley Local Government Pension Scheme", CLIENT, "GBP", AVERAGE,
                funding=(("GBP", _m("60")), ("USD", _m("20"))), mandate="BALANCED", lines=12, size=3.0, kyc_days=150),
    DemoAccount("CL-PF-003", "Versorgungswerk der Ingenieure Rheinland", CLIENT, "EUR", AVERAGE,
                allow_partial_settlement=False, funding=(("EUR", _m("70")),), mandate="BALANCED", lines=10,
                size=3.0),
    DemoAccount("CL-PF-004", "Great Lakes Municipal Employees Retirement System", CLIENT, "USD", FIFO,
                funding=(("USD", _m("110")),), mandate="US_EQUITY", lines=12, size=5.0),
    DemoAccount("CL-HF-001", "Blackwater Creek Capital Master Fund LP", CLIENT, "USD", FIFO, credit_limit=_m("10"),
                funding=(("USD", _m("45")),), mandate="US_EQUITY", lines=8, size=3.0),
    DemoAccount("CL-HF-002", "Larkspur Global Macro Fund Ltd", CLIENT, "USD", FIFO, credit_limit=_m("5"),
                funding=(("USD", _m("30")), ("EUR", _m("10"))), mandate="BALANCED", lines=8, size=2.5),
    DemoAccount("CL-HF-003", "Mayfair Long/Short Equity Fund", CLIENT, "GBP", FIFO, credit_limit=_m("3"),
                funding=(("GBP", _m("18")),), mandate="UK_EQUITY", lines=6, size=1.5),
    # Suspended pending a KYC refresh (its review ran out): it keeps its holdings but may not trade.
    DemoAccount("CL-HF-004", "Kestrel Event Driven Partners LP", CLIENT, "USD", AVERAGE,
                status=Account.Status.SUSPENDED, funding=(("USD", _m("12")),), mandate="US_EQUITY", lines=4,
                size=1.0, kyc_days=-20),
    # Redeemed and closed: funded, withdrawn in full, then closed; it holds nothing.
    DemoAccount("CL-HF-005", "Old Quarry Capital Fund LP", CLIENT, "USD", FIFO, status=Account.Status.CLOSED,
                funding=(("USD", _m("5")),)),
    # Two offices of one family: one beneficial owner, one party to wash-trade surveillance.
    DemoAccount("CL-FO-001", "Hartwell Family Office", CLIENT, "USD", AVERAGE,
                funding=(("USD", _m("15")), ("GBP", _m("4"))), mandate="GLOBAL_EQUITY", lines=8, size=0.6,
                kyc_days=95, beneficial_owner="Eleanor Hartwell"),
    DemoAccount("CL-FO-002", "Von Stauffen Family Holdings GmbH", CLIENT, "EUR", FIFO,
                funding=(("EUR", _m("12")), ("USD", _m("5"))), mandate="GLOBAL_EQUITY", lines=7, size=0.5),
    DemoAccount("CL-FO-003", "Ashcombe Private Office", CLIENT, "GBP", AVERAGE, funding=(("GBP", _m("8")),),
                mandate="UK_EQUITY", lines=5, size=0.4, kyc_days=12, beneficial_owner="Eleanor Hartwell"),
    DemoAccount("CL-AM-001", "Meridian Harbor Asset Management", CLIENT, "USD", FIFO,
                funding=(("USD", _m("55")), ("EUR", _m("8"))), mandate="GLOBAL_EQUITY", lines=12, size=2.0,
                kyc_days=330),
    DemoAccount("CL-IN-001", "Cornerstone Mutual Life Insurance Company", CLIENT, "USD", AVERAGE,
                allow_partial_settlement=False, funding=(("USD", _m("90")),), mandate="FIXED_INCOME", lines=6,
                size=10.0),
    DemoAccount("CL-EN-001", "St Aidan's College Endowment", CLIENT, "GBP", AVERAGE, funding=(("GBP", _m("9")),),
                mandate="BALANCED", lines=6, size=0.8),
    # New client: funded, nothing bought yet.
    DemoAccount("CL-CH-001", "Lindqvist Foundation", CLIENT, "EUR", FIFO, funding=(("EUR", _m("6")),),
                kyc_days=360),
)
ACCOUNTS_BY_CODE = {a.code: a for a in ACCOUNTS}


def cash_reference(account_code: str, currency: str) -> str:
    return f"DEMO-CASH-{account_code}-{currency}"


def cash_close_reference(account_code: str, currency: str) -> str:
    return f"DEMO-CASH-{account_code}-{currency}-CLOSE"


def opening_reference(account_code: str, isin: str) -> str:
    return f"DEMO-OPEN-{account_code}-{isin}"


# Dates -------------------------------------------------------------------------------------------

@cache
def market_sessions(mic: str, before: dt.date, count: int = PRICE_DAYS) -> tuple[dt.date, ...]:
    """Return the last `count` trading sessions of the exchange `mic` strictly before `before`."""
    import exchange_calendars
    import pandas as pd

    start = pd.Timestamp(before - dt.timedelta(days=count * 2 + 30))
    calendar = exchange_calendars.get_calendar(mic, start=start, end=pd.Timestamp(before))
    sessions = [day.date() for day in calendar.sessions if day.date() < before]
    return tuple(sessions[-count:])


def price_dates(before: dt.date) -> dict[str, tuple[dt.date, ...]]:
    """Return, per MIC of the demo, the 30 sessions that get prices."""
    return {mic: market_sessions(mic, before) for mic in MARKET_CURRENCY}


# Generated series ---------------------------------------------------------------------------------

_DAILY_VOLATILITY = {EQUITY: 0.016, ETF: 0.009, GOVT_BOND: 0.0025, CORP_BOND: 0.003}


def _quantize(value: float, places: int) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def price_path(instrument: DemoInstrument, days: int, seed: int) -> list[Decimal]:
    """Return `days` closing prices of a random walk around the instrument's level."""
    rng = random.Random(f"{seed}:price:{instrument.isin}")
    volatility = _DAILY_VOLATILITY[instrument.asset_class]
    level = float(instrument.level) * (1 + rng.uniform(-0.03, 0.03))
    path = []
    for _ in range(days):
        level *= math.exp(rng.gauss(0, volatility))
        if instrument.asset_class in BONDS:
            level = min(max(level, 95.0), 105.0)
        path.append(_quantize(level, instrument.price_places))
    return path


FX_PAIRS = (("EUR", "USD"), ("GBP", "USD"), ("EUR", "GBP"))


def fx_path(days: list[dt.date], seed: int) -> dict[tuple[str, str, dt.date], Decimal]:
    """Return EUR/USD, GBP/USD and the consistent EUR/GBP cross for each day."""
    rng = random.Random(f"{seed}:fx")
    eurusd, gbpusd = 1.085 * (1 + rng.uniform(-0.02, 0.02)), 1.27 * (1 + rng.uniform(-0.02, 0.02))
    rates = {}
    for day in days:
        eurusd *= math.exp(rng.gauss(0, 0.004))
        gbpusd *= math.exp(rng.gauss(0, 0.004))
        rates["EUR", "USD", day] = _quantize(eurusd, 6)
        rates["GBP", "USD", day] = _quantize(gbpusd, 6)
        rates["EUR", "GBP", day] = _quantize(eurusd / gbpusd, 6)
    return rates


def opening_positions(account: DemoAccount) -> list[tuple[DemoInstrument, Decimal]]:
    """Return the account's opening positions: fixed, whatever the seed."""
    eligible = [i for i in INSTRUMENTS if MANDATES[account.mandate](i)]
    rng = random.Random(f"holdings:{account.code}")
    chosen = rng.sample(eligible, min(account.lines, len(eligible)))
    holdings = []
    for instrument in sorted(chosen, key=lambda i: i.isin):
        value = account.size * 1_000_000 * rng.uniform(0.4, 1.6)
        lots = max(1, round(value / float(instrument.level) / instrument.lot))
        holdings.append((instrument, Decimal(lots * instrument.lot)))
    return holdings


# Loading ------------------------------------------------------------------------------------------

@dataclass
class LoadSummary:
    created: Counter = field(default_factory=Counter)
    found: Counter = field(default_factory=Counter)

    def count(self, kind: str, *, created: bool, n: int = 1) -> None:
        (self.created if created else self.found)[kind] += n

    def lines(self) -> list[str]:
        kinds = list(dict.fromkeys([*self.created, *self.found]))
        return [f"{kind:<16} {self.created[kind]:>6} created {self.found[kind]:>6} already there" for kind in kinds]


def load_demo(*, seed: int = DEFAULT_SEED, today: dt.date | None = None) -> LoadSummary:
    """Load the demo firm, all or nothing; running it again creates and changes nothing."""
    today = today or timezone.localdate()
    summary = LoadSummary()
    with correlation(f"{DEMO_ACTOR}:{uuid.uuid4().hex[:12]}"), transaction.atomic():
        _load_counterparties(summary)
        instruments = _load_instruments(summary)
        accounts, new_accounts = _load_accounts(summary, today)
        days = price_dates(today)
        _load_prices(summary, instruments, days, seed)
        _load_fx_rates(summary, sorted({d for mic_days in days.values() for d in mic_days}), seed)
        opening_date = min(d[0] for d in days.values())
        _load_cash(summary, accounts, new_accounts, opening_date, closing_date=max(d[-1] for d in days.values()))
        _load_positions(summary, accounts, instruments, opening_date)
        _close_new_accounts(accounts, new_accounts)
    return summary


def _load_counterparties(summary: LoadSummary) -> None:
    existing = {c.code: c for c in Counterparty.objects.filter(code__in=COUNTERPARTIES_BY_CODE)}
    # CCPs first: the others name the CCP they clear through.
    for spec in sorted(COUNTERPARTIES, key=lambda c: not c.is_ccp):
        if spec.code in existing:
            summary.count("counterparties", created=False)
            continue
        existing[spec.code] = reference.counterparty_create(
            actor=DEMO_ACTOR, code=spec.code, name=spec.name, lei=spec.lei, is_ccp=spec.is_ccp,
            clears_through=spec.clears_through, requires_matching=spec.requires_matching, reason="demo data")
        summary.count("counterparties", created=True)


def _load_instruments(summary: LoadSummary) -> dict[str, Instrument]:
    existing = {i.isin: i for i in Instrument.objects.filter(isin__in=INSTRUMENTS_BY_ISIN)}
    for spec in INSTRUMENTS:
        if spec.isin in existing:
            summary.count("instruments", created=False)
            continue
        existing[spec.isin] = reference.instrument_create(
            actor=DEMO_ACTOR, isin=spec.isin, symbol=spec.symbol, name=spec.name, asset_class=spec.asset_class,
            currency=spec.currency, market=spec.market, reason="demo data")
        summary.count("instruments", created=True)
    return existing


def _load_accounts(summary: LoadSummary, today: dt.date) -> tuple[dict[str, Account], set[str]]:
    existing = {a.code: a for a in Account.objects.filter(code__in=ACCOUNTS_BY_CODE)}
    created = set()
    for spec in ACCOUNTS:
        if spec.code in existing:
            summary.count("accounts", created=False)
            continue
        # A closed account is opened first so that its history (funding, redemption) can be booked.
        status = Account.Status.ACTIVE if spec.status == Account.Status.CLOSED else spec.status
        existing[spec.code] = reference.account_create(
            actor=DEMO_ACTOR, code=spec.code, name=spec.name, kind=spec.kind, base_currency=spec.base_currency,
            status=status, cost_method=spec.cost_method, allow_partial_settlement=spec.allow_partial_settlement,
            credit_limit=spec.credit_limit, beneficial_owner=spec.beneficial_owner, reason="demo data",
            kyc_review_due=today + dt.timedelta(days=spec.kyc_days) if spec.kyc_days is not None else None)
        created.add(spec.code)
        summary.count("accounts", created=True)
    return existing, created


def _load_prices(summary: LoadSummary, instruments: dict[str, Instrument], days: dict[str, tuple[dt.date, ...]],
                 seed: int) -> None:
    demo_instruments = [instruments[spec.isin] for spec in INSTRUMENTS]
    # Prices already stored are left as they are: a rerun on a later day adds the new days only.
    stored = set(Price.objects.filter(instrument__in=demo_instruments, source=PRICE_SOURCE)
                 .values_list("instrument_id", "price_date"))
    new_prices = []
    for spec in INSTRUMENTS:
        instrument = instruments[spec.isin]
        market_days = days[spec.market]
        for day, price in zip(market_days, price_path(spec, len(market_days), seed), strict=True):
            if (instrument.pk, day) in stored:
                summary.count("prices", created=False)
                continue
            new_prices.append(PriceInput(instrument=instrument, price_date=day, price=price,
                                         currency=instrument.currency, source=PRICE_SOURCE))
    # One set-based upsert (and one bulk audit insert) for all of them.
    result = reference.price_upsert(actor=DEMO_ACTOR, prices=new_prices, reason="demo data")
    summary.count("prices", created=True, n=len(result.created))


def _load_fx_rates(summary: LoadSummary, days: list[dt.date], seed: int) -> None:
    stored = set(FxRate.objects.filter(source=FX_SOURCE, rate_date__in=days)
                 .values_list("base_currency", "quote_currency", "rate_date"))
    for (base, quote, day), rate in fx_path(days, seed).items():
        if (base, quote, day) in stored:
            summary.count("fx rates", created=False)
            continue
        reference.fx_rate_upsert(actor=DEMO_ACTOR, base_currency=base, quote_currency=quote, rate_date=day,
                                 rate=rate, source=FX_SOURCE, reason="demo data")
        summary.count("fx rates", created=True)


def _load_cash(summary: LoadSummary, accounts: dict[str, Account], new_accounts: set[str],
               opening_date: dt.date, closing_date: dt.date) -> None:
    wanted = []  # (reference, account, currency, amount, value_date)
    for spec in ACCOUNTS:
        for currency, amount in spec.funding:
            wanted.append((cash_reference(spec.code, currency), spec, currency, amount, opening_date))
            if spec.status == Account.Status.CLOSED:
                wanted.append((cash_close_reference(spec.code, currency), spec, currency, -amount, closing_date))
    stored = set(CashMovement.objects.filter(reference__in=[w[0] for w in wanted]).values_list("reference", flat=True))
    for ref, spec, currency, amount, value_date in wanted:
        account = accounts[spec.code]
        if ref in stored:
            summary.count("cash movements", created=False)
            continue
        if account.status == Account.Status.CLOSED and spec.code not in new_accounts:
            continue  # closed since: it takes no movements
        cash.cash_movement_create(
            actor=DEMO_ACTOR, account=account, currency=currency, amount=amount, value_date=value_date,
            reference=ref, description="Demo funding" if amount > 0 else "Demo redemption", reason="demo data")
        summary.count("cash movements", created=True)


def _load_positions(summary: LoadSummary, accounts: dict[str, Account], instruments: dict[str, Instrument],
                    opening_date: dt.date) -> None:
    wanted = [(opening_reference(spec.code, instrument.isin), spec, instrument, quantity)
              for spec in ACCOUNTS for instrument, quantity in opening_positions(spec)]
    stored = set(StockMovement.objects.filter(reference__in=[w[0] for w in wanted])
                 .values_list("reference", flat=True))
    for ref, spec, instrument_spec, quantity in wanted:
        if ref in stored:
            summary.count("positions", created=False)
            continue
        positions.stock_movement_create(
            actor=DEMO_ACTOR, account=accounts[spec.code], instrument=instruments[instrument_spec.isin],
            quantity=quantity, value_date=opening_date, reference=ref, kind=StockMovement.Kind.OPENING,
            description="Demo opening position", reason="demo data")
        summary.count("positions", created=True)


def _close_new_accounts(accounts: dict[str, Account], new_accounts: set[str]) -> None:
    for spec in ACCOUNTS:
        if spec.code in new_accounts and spec.status == Account.Status.CLOSED:
            reference.account_update(actor=DEMO_ACTOR, account=accounts[spec.code],
                                     changes={"status": Account.Status.CLOSED}, reason="demo data: redeemed")


# Demo trades --------------------------------------------------------------------------------------

class DemoDataMissing(Exception):
    """The demo firm has not been loaded: there is nothing to trade."""


def demo_trades(n: int, seed: int) -> list[dict]:
    """Return `n` realistic trades on the demo firm, as the API's trade input (decimals as strings).

    Deterministic for a seed (external references ``DEMO-<seed>-<n>``, so booking them twice
    books nothing twice). Prices are near the instrument's close on the trade date, trade dates
    are among the last 30 business days, sells come mostly out of positions the account holds.
    About one in five is dated today where its market trades today (near the last close), so
    the home page has today's trading to show.
    """
    accounts = list(Account.objects.filter(code__in=ACCOUNTS_BY_CODE, status=Account.Status.ACTIVE)
                    .exclude(code=ERROR_ACCOUNT).order_by("code"))
    dealers = list(Counterparty.objects.filter(code__in=COUNTERPARTIES_BY_CODE, is_ccp=False).order_by("code"))
    instruments = list(Instrument.objects.filter(isin__in=INSTRUMENTS_BY_ISIN, is_active=True)
                       .select_related("market").order_by("isin"))
    closes = _recent_closes(instruments)
    instruments = [i for i in instruments if closes[i.pk]]
    today_at = {}  # per MIC: today's date there if the exchange trades today, else None
    for instrument in instruments:
        market = instrument.market
        if market.mic not in today_at:
            day = market_today(market=market)
            today_at[market.mic] = day if is_trading_session(market=market, day=day) else None

    if n > 0 and not (accounts and dealers and instruments):
        raise DemoDataMissing("The demo firm is not loaded: run load_demo first.")
    held = {(p.account_id, p.instrument_id): p.settled_quantity
            for p in Position.objects.filter(account__in=accounts, settled_quantity__gt=0)}
    # The pre-trade checks (compliance rules) refuse a buy beyond the account's cash in the trade's currency
    # and hold a sale its position does not cover: an account trades what is in currencies it holds cash in,
    # buys within what it may still spend there (its funding, less the buys generated before: from the firm's
    # fixed figures, so a seed's trades never depend on what was booked since), and sells out of what it holds.
    budget = {(spec.code, currency): amount * BUDGET_SHARE for spec in ACCOUNTS for currency, amount in spec.funding}
    tradable = {account.code: [i for i in instruments if (account.code, i.currency) in budget] or instruments
                for account in accounts}
    rng = random.Random(f"{seed}:trades")
    trades = []
    for number in range(1, n + 1):
        # Draw again (a few times) an account and instrument where a trade is possible: one it holds, or one
        # it can still afford a couple of lots of.
        for _attempt in range(DRAWS):
            account = rng.choice(accounts)
            instrument = rng.choice(tradable[account.code])
            spec = INSTRUMENTS_BY_ISIN[instrument.isin]
            counterparty = rng.choice([d for d in dealers if COUNTERPARTIES_BY_CODE[d.code].deals_in(spec)]
                                      or dealers)
            trade_date, close = rng.choice(closes[instrument.pk])
            today = today_at[instrument.market_id]
            if rng.random() < 0.2 and today is not None and today > closes[instrument.pk][-1][0]:
                trade_date, close = today, closes[instrument.pk][-1][1]
            lots = rng.choice((1, 1, 2, 3, 5, 5, 10, 20, 25, 50))
            quantity = Decimal(lots * spec.lot)
            holding = held.get((account.pk, instrument.pk), Decimal(0))
            price = (close * Decimal(str(1 + rng.uniform(-0.004, 0.004)))).quantize(
                Decimal(1).scaleb(-spec.price_places), rounding=ROUND_HALF_EVEN)
            left = budget.get((account.code, instrument.currency), Decimal(0))
            # Lots it can afford, a lot's worth kept back for the commission.
            affordable = (left // (price * spec.lot)) - 1
            if holding > 0 or affordable >= 1:
                break
        side = "SELL" if holding > 0 and (affordable < 1 or rng.random() < 0.5) else "BUY"
        if side == "BUY":
            quantity = min(quantity, max(affordable, Decimal(1)) * spec.lot)
        if side == "SELL":
            # Sell at most a tenth of the holding per trade (a lot at least), never more than is left of it.
            quantity = min(quantity, max(Decimal(spec.lot), (holding / 10 // spec.lot) * spec.lot), holding)
            held[(account.pk, instrument.pk)] = holding - quantity
        else:
            budget[(account.code, instrument.currency)] = left - quantity * price - _commission(spec, quantity, price)
        trades.append({
            "external_ref": f"DEMO-{seed}-{number:06d}",
            "account": account.code,
            "counterparty": counterparty.code,
            "instrument": instrument.isin,
            "side": side,
            "quantity": format_decimal(quantity),
            "price": format_decimal(price),
            "currency": instrument.currency,
            "trade_date": trade_date.isoformat(),
            "settlement_date": None,
            "commission": format_decimal(_commission(spec, quantity, price)),
        })
    return trades


# The share of its funding an account's demo buys may spend in a currency.
BUDGET_SHARE = Decimal("0.9")
DRAWS = 20


def _recent_closes(instruments: list[Instrument]) -> dict[int, list[tuple[dt.date, Decimal]]]:
    closes: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    rows = (Price.objects.filter(instrument__in=instruments, source=PRICE_SOURCE)
            .order_by("instrument_id", "-price_date").values_list("instrument_id", "price_date", "price"))
    for instrument_id, day, price in rows:
        if len(closes[instrument_id]) < PRICE_DAYS:
            closes[instrument_id].append((day, price))
    for series in closes.values():
        series.reverse()
    return closes


def _commission(spec: DemoInstrument, quantity: Decimal, price: Decimal) -> Decimal:
    """Cents per share in the US, basis points elsewhere, none on bonds (dealt net)."""
    if spec.asset_class in BONDS:
        return Decimal("0")
    per_share = spec.market in US_MARKETS
    commission = quantity * Decimal("0.01") if per_share else quantity * price * Decimal("0.0005")
    return max(Decimal("1.00"), commission).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


DEMO_OMS_USER = "demo-oms"
BOOKING_BATCH = 10_000


@dataclass
class BookingSummary:
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    first_errors: list = field(default_factory=list)


def demo_oms_user():
    """The front-office system the demo trades come from (a user in the front_office group)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, created = get_user_model().objects.get_or_create(username=DEMO_OMS_USER, defaults={"is_active": True})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name="front_office"))
    return user


def book_demo_trades(n: int, seed: int) -> BookingSummary:
    """Generate `n` demo trades and book them through trade capture, in batches of 10,000."""
    from records.trades.input import parse_trade
    from records.trades.services import CREATED, DUPLICATE, trade_submit_batch

    user = demo_oms_user()
    summary = BookingSummary()
    trades = demo_trades(n, seed)
    with correlation(f"{DEMO_ACTOR}:trades:{uuid.uuid4().hex[:12]}"):
        for start in range(0, len(trades), BOOKING_BATCH):
            items = []
            for index, raw in enumerate(trades[start:start + BOOKING_BATCH], start=start):
                item, errors = parse_trade(raw)
                if errors:
                    summary.rejected += 1
                    summary.first_errors.append((raw["external_ref"], errors))
                else:
                    items.append((index, item))
            for result in trade_submit_batch(submitted_by=user, items=items).values():
                if result.status == CREATED:
                    summary.created += 1
                elif result.status == DUPLICATE:
                    summary.duplicates += 1
                else:
                    summary.rejected += 1
                    summary.first_errors.append((trades[result.index]["external_ref"], result.errors))
    del summary.first_errors[5:]
    return summary
