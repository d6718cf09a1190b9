"""Reads of the pre-trade rules (compliance/pretrade.py): what each kind of rule needs, for a whole batch.

Each function returns one SELECT as ``Load(sql, params, parse)``: compliance.pretrade gathers the loads of
every kind in force over the batch and sends them in one round trip (backoffice.core.bulk.select_all), so a
batch of N trades costs one statement per kind whatever N is. Keys travel as arrays (unnest), never as a
statement per trade.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings

from compliance.shorts.models import Locate, PenaltyBoxEntry
from records.cash.models import CashBalance
from records.positions.models import Position
from records.reference.models import Account, FxRate, Instrument, Price
from records.trades.models import Trade


@dataclass(frozen=True)
class Load:
    sql: str
    params: list
    parse: Callable[[list[tuple]], object]


def _t(model) -> str:
    return model._meta.db_table


def _array(values) -> str:
    """An array parameter as PostgreSQL's text form, cast in the SQL (%s::bigint[]): ids, dates and currency
    codes need no quoting, and the text is built far faster than a driver adapts a list element by element."""
    return "{" + ",".join(map(str, values)) + "}"


# The latest rate between two currencies on or before a day, either way round: (rate, direct). direct: 1 unit
# of k.base = rate units of k.quote; else the stored rate is the other way round (divide by it).
_FX_LATERAL = f"""
LEFT JOIN LATERAL (
    SELECT r.rate, r.base_currency = {{base}} AS direct FROM {_t(FxRate)} r
    WHERE {{base}} <> {{quote}}
      AND ((r.base_currency = {{base}} AND r.quote_currency = {{quote}})
           OR (r.base_currency = {{quote}} AND r.quote_currency = {{base}}))
      AND r.rate_date <= {{day}}
    ORDER BY r.rate_date DESC, r.base_currency = {{base}} DESC, r.source LIMIT 1
) fx ON true"""  # noqa: S608 - names from meta

_PRICE_LATERAL = f"""
LEFT JOIN LATERAL (
    SELECT p.price, p.currency, p.price_date FROM {_t(Price)} p
    WHERE p.instrument_id = {{instrument}} AND p.price_date = (
        SELECT MAX(q.price_date) FROM {_t(Price)} q WHERE q.instrument_id = {{instrument}} AND q.price_date <= {{day}})
    ORDER BY p.updated_at DESC, p.id DESC LIMIT 1
) px ON true"""  # noqa: S608 - names from meta


def convert(amount: Decimal, rate: Decimal | None, direct: bool | None) -> Decimal | None:
    """amount in the rate's first currency, in the other one (None without a rate)."""
    if rate is None:
        return None
    return amount * rate if direct else amount / rate


@dataclass(frozen=True)
class Funds:
    balance: Decimal
    reserved: Decimal
    uncovered: Decimal  # cost of the account's BOOKED buys in the currency (no settlement reservation yet)
    rate: Decimal | None  # account base currency -> trade currency, None when the same or unknown
    direct: bool | None


def funds_load(keys: Iterable[tuple[int, str, str, date]]) -> Load:
    """Per (account id, trade currency, account base currency, trade date): cash balance and reserved, the cost
    of the account's BOOKED buys in that currency (quantity x price + commission: the sum of its rows of
    compliance_bookedbuys, one per instrument, which triggers on records_trade keep; migration compliance
    0004), and the latest FX rate from the base currency on or before the day. One statement, by primary keys."""
    keys = sorted(set(keys))
    # The booked buys of the batch's accounts summed once (a hash join, not a sum per key), and each FX rate
    # looked up once per (base, currency, day), not per account.
    sql = f"""
WITH k AS (SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::date[])
           AS k (account_id, currency, base, day)),
o AS (SELECT o.account_id, o.currency, SUM(o.cost) AS cost FROM compliance_bookedbuys o
      WHERE o.account_id IN (SELECT DISTINCT account_id FROM k) GROUP BY o.account_id, o.currency),
r AS (SELECT f.base, f.currency, f.day, fx.rate, fx.direct
      FROM (SELECT DISTINCT base, currency, day FROM k WHERE base <> currency) AS f (base, currency, day)
      {_FX_LATERAL.format(base="f.base", quote="f.currency", day="f.day")})
SELECT k.account_id, k.currency, k.day, COALESCE(b.balance, 0), COALESCE(b.reserved, 0), COALESCE(o.cost, 0),
       r.rate, r.direct
FROM k
LEFT JOIN {_t(CashBalance)} b ON b.account_id = k.account_id AND b.currency = k.currency
LEFT JOIN o ON o.account_id = k.account_id AND o.currency = k.currency
LEFT JOIN r ON r.base = k.base AND r.currency = k.currency AND r.day = k.day"""  # noqa: S608 - names from meta
    params = [_array(k[0] for k in keys), _array(k[1] for k in keys), _array(k[2] for k in keys),
              _array(k[3] for k in keys)]

    def parse(rows):
        return {(account_id, currency, day): Funds(balance, reserved, cost, rate, direct)
                for account_id, currency, day, balance, reserved, cost, rate, direct in rows}
    return Load(sql, params, parse)


def positions_load(pairs: Iterable[tuple[int, int]]) -> Load:
    """Trade-date positions (Position.traded_quantity) of (account id, instrument id) pairs; missing: 0."""
    pairs = sorted(set(pairs))
    sql = f"""
SELECT p.account_id, p.instrument_id, p.traded_quantity FROM {_t(Position)} p
JOIN unnest(%s::bigint[], %s::bigint[]) AS k (account_id, instrument_id)
  ON p.account_id = k.account_id AND p.instrument_id = k.instrument_id"""  # noqa: S608 - names from meta

    def parse(rows):
        return {(a, i): q for a, i, q in rows}
    return Load(sql, [_array(a for a, _ in pairs), _array(i for _, i in pairs)], parse)


@dataclass(frozen=True)
class Cover:
    kind: str
    quantity: Decimal
    valid_from: date
    valid_to: date | None

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass
class ShortData:
    positions: dict
    covers: dict  # (account id, instrument id) -> [Cover]
    penalty: dict  # (account id, instrument id) -> the earliest `since` of its open entries


def shorts_load(pairs: Iterable[tuple[int, int]], *, date_from: date, date_to: date) -> Load:
    """For (account id, instrument id) pairs: the trade-date position, the locates and borrows not ended that
    cover some day of [date_from, date_to], and the open penalty-box entries. One statement (UNION ALL)."""
    pairs = sorted(set(pairs))
    keys = "unnest(%s::bigint[], %s::bigint[]) AS k (account_id, instrument_id)"
    sql = f"""
SELECT 'P', p.account_id, p.instrument_id, p.traded_quantity, NULL, NULL::date, NULL::date
FROM {_t(Position)} p JOIN {keys} ON p.account_id = k.account_id AND p.instrument_id = k.instrument_id
UNION ALL
SELECT 'L', l.account_id, l.instrument_id, l.quantity, l.kind, l.valid_from, l.valid_to
FROM {_t(Locate)} l JOIN {keys} ON l.account_id = k.account_id AND l.instrument_id = k.instrument_id
WHERE NOT (l.ended_at IS NOT NULL AND (l.ended_at AT TIME ZONE %s)::date <= l.valid_from)
  AND l.valid_from <= %s AND (l.valid_to IS NULL OR l.valid_to >= %s)
UNION ALL
SELECT 'B', e.account_id, e.instrument_id, NULL, NULL, MIN(e.since), NULL
FROM {_t(PenaltyBoxEntry)} e JOIN {keys} ON e.account_id = k.account_id AND e.instrument_id = k.instrument_id
WHERE e.released_on IS NULL
GROUP BY e.account_id, e.instrument_id"""  # noqa: S608 - names from meta
    accounts, instruments = _array(a for a, _ in pairs), _array(i for _, i in pairs)

    def parse(rows):
        data = ShortData({}, defaultdict(list), {})
        for tag, account_id, instrument_id, quantity, kind, first, last in rows:
            key = (account_id, instrument_id)
            if tag == "P":
                data.positions[key] = quantity
            elif tag == "L":
                data.covers[key].append(Cover(kind, quantity, first, last))
            else:
                data.penalty[key] = first
        return data
    return Load(sql, [accounts, instruments, accounts, instruments, settings.TIME_ZONE, date_to, date_from, accounts,
                     instruments],
                parse)


@dataclass(frozen=True)
class LastPrice:
    price: Decimal
    currency: str
    day: date


def last_prices_load(keys: Iterable[tuple[int, date]]) -> Load:
    """The latest records Price of each (instrument id, day) on or before the day (several sources on that
    day: the one updated last, as records' latest price: the price the pages show). Missing: no price."""
    keys = sorted(set(keys))
    sql = f"""
SELECT k.instrument_id, k.day, px.price, px.currency, px.price_date
FROM unnest(%s::bigint[], %s::date[]) AS k (instrument_id, day)
{_PRICE_LATERAL.format(instrument="k.instrument_id", day="k.day")}
WHERE px.price IS NOT NULL"""  # noqa: S608 - names from meta

    def parse(rows):
        return {(i, d): LastPrice(p, c, pd) for i, d, p, c, pd in rows}
    return Load(sql, [_array(i for i, _ in keys), _array(d for _, d in keys)], parse)


@dataclass(frozen=True)
class Holding:
    instrument_id: int
    quantity: Decimal
    unit_value: Decimal | None  # market value of one unit in the account's base currency; None: unknown


def portfolios_load(keys: Iterable[tuple[int, date]], extra: Iterable[tuple[int, date, int]]) -> Load:
    """Per (account id, day): every non-zero trade-date position of the account, plus the (account, day,
    instrument) triples of `extra` (the batch's own instruments), each with the value of one unit in the
    account's base currency at the latest price and FX rate on or before the day (None without either)."""
    keys, extra = sorted(set(keys)), sorted(set(extra))
    sql = f"""
WITH k AS (SELECT DISTINCT * FROM unnest(%s::bigint[], %s::date[]) AS k (account_id, day)),
h AS (
    SELECT k.account_id, k.day, p.instrument_id, p.traded_quantity AS quantity
    FROM k JOIN {_t(Position)} p ON p.account_id = k.account_id AND p.traded_quantity <> 0
    UNION
    SELECT e.account_id, e.day, e.instrument_id, COALESCE(p.traded_quantity, 0)
    FROM unnest(%s::bigint[], %s::date[], %s::bigint[]) AS e (account_id, day, instrument_id)
    LEFT JOIN {_t(Position)} p ON p.account_id = e.account_id AND p.instrument_id = e.instrument_id)
SELECT h.account_id, h.day, h.instrument_id, h.quantity, px.price, px.currency, a.base_currency, fx.rate, fx.direct
FROM h JOIN {_t(Account)} a ON a.id = h.account_id JOIN {_t(Instrument)} i ON i.id = h.instrument_id
{_PRICE_LATERAL.format(instrument="h.instrument_id", day="h.day")}
{_FX_LATERAL.format(base="px.currency", quote="a.base_currency", day="h.day")}"""  # noqa: S608 - names from meta
    params = [_array(a for a, _ in keys), _array(d for _, d in keys), _array(e[0] for e in extra),
              _array(e[1] for e in extra), _array(e[2] for e in extra)]

    def parse(rows):
        out: dict[tuple[int, date], dict[int, Holding]] = defaultdict(dict)
        for account_id, day, instrument_id, quantity, price, currency, base, rate, direct in rows:
            unit = None
            if price is not None:
                unit = price if currency == base else convert(price, rate, direct)
            out[(account_id, day)][instrument_id] = Holding(instrument_id, quantity, unit)
        return out
    return Load(sql, params, parse)


@dataclass(frozen=True)
class TradeTerms:
    """A trade as it stands in the database: what it adds to positions and to the booked buys."""

    id: int
    account_id: int
    instrument_id: int
    status: str
    side: str
    quantity: Decimal
    currency: str
    cost: Decimal


def trade_terms_load(trade_ids: Iterable[int]) -> Load:
    """The current terms of trades (the ones being amended): one statement."""
    sql = f"""
SELECT id, account_id, instrument_id, status, side, quantity, currency, quantity * price + commission
FROM {_t(Trade)} WHERE id = ANY(%s::bigint[])"""  # noqa: S608 - names from meta

    def parse(rows):
        return {row[0]: TradeTerms(*row) for row in rows}
    return Load(sql, [_array(sorted(set(trade_ids)))], parse)
