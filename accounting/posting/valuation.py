"""End-of-day valuation of a range of accounts: mark to market, and FX revaluation of foreign balances.

Mark to market as of a date: for each account and instrument, the investments account's quantity
and cost on that date (the ledger's own figures) against the latest price on or before it:
Dr valuation adjustment / Cr unrealized gain (a loss the other way), reversed the next day, so
each day's valuation stands alone. One entry and its reversal per position and date: a rerun
posts nothing new.

FX revaluation as of a date: each monetary GL account's balance per account and foreign currency
is carried in base at the rates of the days it was posted; revalued at the date's rate, the
difference goes to FX revaluation gain or loss, in base only (the transaction-currency amounts do
not change). Not reversed: the next revaluation starts from the carried amount including it.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection

from accounting.posting.books import FxBook, Unpostable, base_currency, round_amount
from accounting.posting.rules import DraftLine, lines_for
from accounting.posting.writer import DraftEntry, price_lines, reversal_of

_POSITIONS = """
SELECT p.id, v.account_id, v.instrument_id, v.currency, v.quantity, v.cost, pr.price
FROM (SELECT l.account_id, l.instrument_id, l.currency, sum(l.quantity) AS quantity, sum(l.amount) AS cost
      FROM accounting_journalline AS l
      WHERE l.gl_account_id = %(investments)s AND l.entry_date <= %(as_of)s
        AND l.account_id >= %(low)s AND l.account_id < %(high)s
      GROUP BY l.account_id, l.instrument_id, l.currency) AS v
JOIN records_position AS p ON p.account_id = v.account_id AND p.instrument_id = v.instrument_id
LEFT JOIN LATERAL (SELECT price FROM records_price AS r WHERE r.instrument_id = v.instrument_id
                   AND r.price_date <= %(as_of)s ORDER BY r.price_date DESC, r.source LIMIT 1) AS pr ON true
WHERE (v.quantity <> 0 OR v.cost <> 0)
  AND NOT EXISTS (SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'MTM' AND e.source_id = p.id
                  AND e.source_version = %(ordinal)s AND e.rule = 'MTM')
"""
_FOREIGN_BALANCES = """
SELECT l.account_id, l.currency, l.gl_account_id, sum(l.amount), sum(l.base_amount)
FROM accounting_journalline AS l JOIN accounting_glaccount AS g ON g.id = l.gl_account_id AND g.is_monetary
WHERE l.currency <> %(base)s AND l.entry_date <= %(as_of)s AND l.account_id >= %(low)s AND l.account_id < %(high)s
  AND NOT EXISTS (SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'FX'
                  AND e.source_id = l.account_id AND e.source_version = %(ordinal)s AND e.currency = l.currency)
GROUP BY l.account_id, l.currency, l.gl_account_id
"""


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def mark_to_market_drafts(*, as_of: date, low: int, high: int, roles: dict[str, int]):
    """The MTM entries of the accounts [low, high) as of a date, each with its reversal dated the next day.
    Return (drafts, unpostable counts by reason)."""
    rows = _rows(_POSITIONS, {"investments": roles["INVESTMENTS"], "as_of": as_of, "low": low, "high": high,
                              "ordinal": as_of.toordinal()})
    fx = FxBook({row[3] for row in rows}, until=as_of)
    drafts, unpostable = [], {}
    for position_id, account_id, instrument_id, currency, quantity, cost, price in rows:
        try:
            if price is None:
                raise Unpostable(f"no price on or before {as_of.isoformat()}")
            unrealized = round_amount(quantity * price) - cost
            if not unrealized:
                continue
            draft = DraftEntry(source_type="MTM", source_id=position_id, source_version=as_of.toordinal(), rule="MTM",
                               event_date=as_of, currency=currency, account_id=account_id,
                               instrument_id=instrument_id, lines=lines_for("MTM", {"unrealized": unrealized}),
                               description=f"Mark to market {as_of.isoformat()}: {quantity.normalize():f} @ "
                                           f"{price.normalize():f}")
            price_lines(draft, fx)
        except Unpostable as exc:
            unpostable[str(exc)] = unpostable.get(str(exc), 0) + 1
            continue
        drafts.append(draft)
    return drafts, unpostable


def mark_to_market_reversals(drafts: list[DraftEntry], *, as_of: date) -> list[DraftEntry]:
    """The next day's reversal of each MTM entry (call once the entries have their ids)."""
    return [reversal_of(d.id, [(line.role, line.amount, line.base_amount, line.quantity) for line in d.lines],
                        rule="MTM_REVERSAL", event_date=as_of + timedelta(days=1),
                        source=("MTM", d.source_id, d.source_version, 0), account_id=d.account_id,
                        instrument_id=d.instrument_id, currency=d.currency, fx_rate=d.fx_rate,
                        description=f"Reversal of mark to market {as_of.isoformat()}") for d in drafts]


def fx_revaluation_drafts(*, as_of: date, low: int, high: int, roles: dict[str, int]):
    """The FX revaluation entries of the accounts [low, high) as of a date: one per account and foreign currency."""
    rows = _rows(_FOREIGN_BALANCES, {"base": base_currency(), "as_of": as_of, "low": low, "high": high,
                                     "ordinal": as_of.toordinal()})
    fx = FxBook({row[1] for row in rows}, until=as_of)
    balances: dict[tuple[int, str], list[tuple[int, Decimal, Decimal]]] = defaultdict(list)
    for account_id, currency, gl_id, amount, base in rows:
        balances[(account_id, currency)].append((gl_id, amount, base))
    drafts, unpostable = [], {}
    for (account_id, currency), per_gl in sorted(balances.items()):
        try:
            rate = fx.rate(currency, as_of)
        except Unpostable as exc:
            unpostable[str(exc)] = unpostable.get(str(exc), 0) + 1
            continue
        lines = []
        for gl_id, amount, base in per_gl:
            difference = round_amount(amount * rate) - base
            if difference:
                lines.append(DraftLine(gl_id, Decimal(0), Decimal(0), difference))
        if not lines:
            continue
        total = sum((line.base_amount for line in lines), Decimal(0))
        if total:
            lines.append(DraftLine("FX_REVALUATION", Decimal(0), Decimal(0), -total))
        drafts.append(DraftEntry(source_type="FX", source_id=account_id, source_version=as_of.toordinal(),
                                 rule="FX_REVALUATION", event_date=as_of, currency=currency, account_id=account_id,
                                 lines=lines, fx_rate=rate,
                                 description=f"FX revaluation of {currency} balances at {rate.normalize():f} "
                                             f"on {as_of.isoformat()}"))
    return drafts, unpostable
