"""Posting the events of a range of accounts that never change once they happen: net obligations,
settlement movements, cash movements and fail penalties.

One read per kind finds what the ledger has not posted yet (an anti-join on the entry's unique
key), the entries are drafted from the rules table in memory and written with the others of the
chunk (COPY). An event without an FX rate for its date stays unposted, counted by reason, and
posts on a later run once the rate is stored.
"""

from datetime import date

from django.db import connection

from accounting.posting.books import FxBook, Unpostable
from accounting.posting.rules import lines_for
from accounting.posting.writer import DraftEntry, price_lines
from settlements.fails.rules import penalty_payable

# Each trade's gross is rounded as its trade-date entry rounded it (quantity × price, four places,
# half away from zero: PostgreSQL's round of numeric), so the netting entry clears those exactly.
_NETTING = """
SELECT o.id, o.account_id, o.instrument_id, o.currency, o.settlement_date, o.net_cash,
       coalesce(sum(round(t.quantity * t.price, 4)) FILTER (WHERE t.side = 'BUY'), 0),
       coalesce(sum(round(t.quantity * t.price, 4)) FILTER (WHERE t.side = 'SELL'), 0)
FROM clearing_obligation AS o
JOIN clearing_nettedtrade AS n ON n.obligation_id = o.id
JOIN records_trade AS t ON t.id = n.trade_id
WHERE o.account_id >= %(low)s AND o.account_id < %(high)s
  AND NOT EXISTS (SELECT 1 FROM accounting_journalentry AS e
                  WHERE e.source_type = 'NETTING' AND e.source_id = o.id AND e.source_version = 0)
GROUP BY o.id
"""
_SETTLEMENTS = """
SELECT m.id, m.account_id, m.instrument_id, m.currency, m.value_date, m.cash, i.obligation_id IS NOT NULL,
       i.direction, m.instruction_id
FROM settlements_settlementmovement AS m
JOIN settlements_settlementinstruction AS i ON i.id = m.instruction_id
WHERE m.account_id >= %(low)s AND m.account_id < %(high)s AND m.cash <> 0
  AND NOT EXISTS (SELECT 1 FROM accounting_journalentry AS e
                  WHERE e.source_type = 'SETTLEMENT' AND e.source_id = m.id AND e.source_version = 0)
"""
# Settlement cash is posted from its settlement movement (above), not from the cash movement it made.
_CASH = """
SELECT c.id, c.account_id, c.currency, c.value_date, c.amount, c.kind, c.reference
FROM records_cashmovement AS c
WHERE c.account_id >= %(low)s AND c.account_id < %(high)s AND c.kind <> 'SETTLEMENT'
  AND NOT EXISTS (SELECT 1 FROM accounting_journalentry AS e
                  WHERE e.source_type = 'CASH' AND e.source_id = c.id AND e.source_version = 0)
"""
# A fail's penalty is paid when we are the failing party and received when the counterparty is
# (settlements.fails.rules.penalty_payable decides, as the fails page shows it).
_PENALTIES = """
SELECT p.id, i.account_id, i.instrument_id, p.currency, p.penalty_date, p.amount, f.kind, f.cause, f.id
FROM settlements_failpenalty AS p
JOIN settlements_settlementfail AS f ON f.id = p.fail_id
JOIN settlements_settlementinstruction AS i ON i.id = f.instruction_id
WHERE i.account_id >= %(low)s AND i.account_id < %(high)s AND p.amount <> 0
  AND NOT EXISTS (SELECT 1 FROM accounting_journalentry AS e
                  WHERE e.source_type = 'PENALTY' AND e.source_id = p.id AND e.source_version = 0)
"""


def _rows(sql: str, low: int, high: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"low": low, "high": high})
        return cursor.fetchall()


def _draft(source_type: str, source_id: int, rule: str, day: date, currency: str, amounts: dict, description: str,
           *, account_id: int, instrument_id: int | None = None) -> DraftEntry:
    return DraftEntry(source_type=source_type, source_id=source_id, rule=rule, event_date=day, currency=currency,
                      description=description, lines=lines_for(rule, amounts), account_id=account_id,
                      instrument_id=instrument_id)


def netting_drafts(low: int, high: int) -> list[DraftEntry]:
    drafts = []
    for obligation_id, account_id, instrument_id, currency, day, net_cash, buys, sells in _rows(_NETTING, low, high):
        amounts = {"buys": buys, "sells": sells, "rounding": (sells - buys) - net_cash}
        drafts.append(_draft("NETTING", obligation_id, "NETTING", day, currency, amounts,
                             f"Obligation {obligation_id}: net cash {net_cash.normalize():f}",
                             account_id=account_id, instrument_id=instrument_id))
    return drafts


def settlement_drafts(low: int, high: int) -> list[DraftEntry]:
    drafts = []
    for movement_id, account_id, instrument_id, currency, day, cash, netted, direction, instruction_id in _rows(
            _SETTLEMENTS, low, high):
        if netted:
            rule, amounts = "SETTLEMENT_NET", {"cash": cash}
        elif direction == "DELIVER":
            rule, amounts = "SETTLEMENT_GROSS_SELL", {"cash": cash}
        else:
            rule, amounts = "SETTLEMENT_GROSS_BUY", {"paid": -cash}
        drafts.append(_draft("SETTLEMENT", movement_id, rule, day, currency, amounts,
                             f"Settlement of instruction {instruction_id} (movement {movement_id})",
                             account_id=account_id, instrument_id=instrument_id))
    return drafts


def cash_drafts(low: int, high: int) -> list[DraftEntry]:
    drafts = []
    for movement_id, account_id, currency, day, amount, kind, reference in _rows(_CASH, low, high):
        if kind == "FEE":
            rule, amounts = "CASH_FEE", {"paid": -amount}
        else:
            rule, amounts = "CASH_FUNDS", {"amount": amount}
        drafts.append(_draft("CASH", movement_id, rule, day, currency, amounts,
                             f"{kind.title()} {reference}", account_id=account_id))
    return drafts


def penalty_drafts(low: int, high: int) -> list[DraftEntry]:
    drafts = []
    for penalty_id, account_id, instrument_id, currency, day, amount, kind, cause, fail_id in _rows(
            _PENALTIES, low, high):
        rule = "PENALTY_PAID" if penalty_payable(kind=kind, cause=cause) else "PENALTY_RECEIVED"
        drafts.append(_draft("PENALTY", penalty_id, rule, day, currency, {"amount": amount},
                             f"Penalty of fail {fail_id} on {day.isoformat()}", account_id=account_id,
                             instrument_id=instrument_id))
    return drafts


def events_draft(low: int, high: int) -> tuple[list[DraftEntry], dict[str, int]]:
    """Draft and price every not-yet-posted event of the accounts [low, high); return the drafts and the
    counts of events left unposted, by reason."""
    drafts = netting_drafts(low, high) + settlement_drafts(low, high) + cash_drafts(low, high) + penalty_drafts(
        low, high)
    fx = FxBook({d.currency for d in drafts})
    priced, unpostable = [], {}
    for draft in drafts:
        try:
            price_lines(draft, fx)
        except Unpostable as exc:
            unpostable[str(exc)] = unpostable.get(str(exc), 0) + 1
            continue
        if draft.lines:
            priced.append(draft)
    return priced, unpostable

