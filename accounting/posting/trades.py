"""Posting the lot events of a range of accounts: trades (trade date) and stock movements.

The ledger is brought to what the blotter says, set-based per chunk (a few reads, then COPY):

1. read the trades whose posted state (PostingState) differs from the trade: booked and not yet
   posted in their current version, or posted but since amended, cancelled or no longer booked;
   and the stock movements not yet posted (two queries);
2. for each (account, instrument) touched, read its open lots and every entry posted for an event
   that comes after the earliest changed one in lot order (trade date, stock movements first, id):
   a restatement, since the lots a later sale relieved depend on everything before it; with their
   lines and lot movements. A trade booked late with an earlier trade date takes its place;
3. in memory: reverse those entries newest first (every line's sign flipped, lot changes undone),
   then post what should be posted, oldest trade date first, relieving lots FIFO or at average
   cost as the account is set (accounting/posting/lots.py), lines from the rules table;
4. write: entries, lines and audit records (COPY), new lots, changed lots, lot movements and the
   posted state (a few statements).

Each entry's key (source, version, rule, generation) is unique: a rerun finds nothing to do, and a
chunk that raced another is refused as a whole and retried by the job framework.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection

from accounting.models import CostLot, LotMovement
from accounting.posting import lots as lotmath
from accounting.posting.books import FxBook, PeriodBook, Unpostable, round_amount
from accounting.posting.rules import lines_for
from accounting.posting.writer import DraftEntry, entries_write, price_lines, reversal_of
from backoffice.core.bulk import allocate_ids, insert_rows
from records.trades.models import Trade

TRADE, STOCK = "TRADE", "STOCK"
_BOOKED = list(Trade.POSITION_STATUSES)

_CHANGED_TRADES = """
SELECT t.id, t.account_id, t.instrument_id, t.side, t.quantity, t.price, t.commission, t.currency, t.trade_date,
       t.version, t.status = ANY(%(booked)s) AS wanted, s.version, s.generation, s.entry_id
FROM records_trade AS t
LEFT JOIN accounting_postingstate AS s ON s.source_type = 'TRADE' AND s.source_id = t.id
WHERE t.account_id >= %(low)s AND t.account_id < %(high)s
  AND CASE WHEN t.status = ANY(%(booked)s) THEN s.entry_id IS NULL OR s.version <> t.version
           ELSE s.entry_id IS NOT NULL END
"""
_TRADES_BY_ID = """
SELECT t.id, t.account_id, t.instrument_id, t.side, t.quantity, t.price, t.commission, t.currency, t.trade_date,
       t.version, t.status = ANY(%(booked)s), NULL, NULL, NULL
FROM records_trade AS t WHERE t.id = ANY(%(ids)s::bigint[])
"""
# A stock movement posts at the latest price on or before its value date (its value in).
_NEW_STOCK = """
SELECT m.id, m.account_id, m.instrument_id, m.quantity, m.value_date, i.currency, p.price, s.generation
FROM records_stockmovement AS m
JOIN records_instrument AS i ON i.id = m.instrument_id
LEFT JOIN accounting_postingstate AS s ON s.source_type = 'STOCK' AND s.source_id = m.id
LEFT JOIN LATERAL (SELECT price FROM records_price AS pr WHERE pr.instrument_id = m.instrument_id
                   AND pr.price_date <= m.value_date ORDER BY pr.price_date DESC, pr.source LIMIT 1) AS p ON true
WHERE {where} AND s.entry_id IS NULL
"""
_ACTIVE = """
SELECT s.account_id, s.instrument_id, s.source_type, s.source_id, s.version, s.generation, s.entry_id, e.event_date
FROM accounting_postingstate AS s
JOIN unnest(%s::bigint[], %s::bigint[]) AS k(account_id, instrument_id)
  ON s.account_id = k.account_id AND s.instrument_id = k.instrument_id
JOIN accounting_journalentry AS e ON e.id = s.entry_id
ORDER BY s.entry_id
"""
_LOTS = """
SELECT l.id, l.account_id, l.instrument_id, l.opened_on, l.opened_by_id, l.quantity, l.cost
FROM accounting_costlot AS l
JOIN unnest(%s::bigint[], %s::bigint[]) AS k(account_id, instrument_id)
  ON l.account_id = k.account_id AND l.instrument_id = k.instrument_id
WHERE l.quantity <> 0 OR l.id = ANY(%s::bigint[]) ORDER BY l.id
"""
_ENTRY_LINES = """
SELECT l.entry_id, g.role, l.amount, l.base_amount, l.quantity, l.fx_rate, e.event_date, e.currency
FROM accounting_journalline AS l JOIN accounting_glaccount AS g ON g.id = l.gl_account_id
JOIN accounting_journalentry AS e ON e.id = l.entry_id
WHERE l.entry_id = ANY(%s::bigint[]) ORDER BY l.id
"""
_LOT_MOVES = "SELECT entry_id, lot_id, quantity, cost FROM accounting_lotmovement WHERE entry_id = ANY(%s::bigint[]) " \
             "ORDER BY id"
_UPDATE_LOTS = """
UPDATE accounting_costlot AS l SET quantity = u.quantity, cost = u.cost
FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[]) AS u(id, quantity, cost) WHERE l.id = u.id
"""
_UPSERT_STATE = """
INSERT INTO accounting_postingstate (source_type, source_id, account_id, instrument_id, version, generation, entry_id)
SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::bigint[])
ON CONFLICT (source_type, source_id) DO UPDATE
SET version = EXCLUDED.version, generation = EXCLUDED.generation, entry_id = EXCLUDED.entry_id
"""


@dataclass
class LotEvent:
    """A trade or a stock movement as the ledger should post it."""

    source_type: str
    source_id: int
    account_id: int
    instrument_id: int
    day: date
    quantity: Decimal  # signed: + in (buy), − out (sell)
    value: Decimal | None  # unsigned quantity × price, rounded; None: no price (stock movement)
    currency: str
    version: int = 1
    commission: Decimal = Decimal(0)
    price: Decimal | None = None
    wanted: bool = True
    # What is posted now (from PostingState): version, generation, active entry.
    posted_version: int | None = None
    posted_generation: int | None = None
    posted_entry: int | None = None

    @property
    def order(self):
        return _order(self.day, self.source_type, self.source_id)


def _order(day: date, source_type: str, source_id: int) -> tuple:
    """The lot order of a position's events: trade date, stock movements before trades, then id."""
    return (day, 0 if source_type == STOCK else 1, source_id)


@dataclass
class Outcome:
    posted: int = 0
    reversed: int = 0
    unpostable: dict = field(default_factory=dict)
    drafts: list = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.unpostable[reason] = self.unpostable.get(reason, 0) + 1


def _trade_event(row) -> LotEvent:
    (trade_id, account_id, instrument_id, side, quantity, price, commission, currency, trade_date, version,
     wanted, posted_version, posted_generation, posted_entry) = row
    signed = quantity if side == Trade.Side.BUY else -quantity
    return LotEvent(TRADE, trade_id, account_id, instrument_id, trade_date, signed, round_amount(quantity * price),
                    currency, version=version, commission=commission, price=price, wanted=wanted,
                    posted_version=posted_version, posted_generation=posted_generation, posted_entry=posted_entry)


def _stock_event(row) -> LotEvent:
    movement_id, account_id, instrument_id, quantity, value_date, currency, price, generation = row
    value = None if price is None else round_amount(abs(quantity) * price)
    return LotEvent(STOCK, movement_id, account_id, instrument_id, value_date, quantity, value, currency,
                    price=price, posted_generation=generation)


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def lot_events_post(*, low: int, high: int, methods: dict[int, str], roles: dict[str, int], periods: PeriodBook,
                    job_id: int | None, actor, reason: str) -> Outcome:
    """Bring the trade-date entries of accounts [low, high) up to the blotter. Caller holds the accounts' posting
    locks, inside the chunk's transaction."""
    outcome = Outcome()
    changed = [_trade_event(row) for row in _fetch(_CHANGED_TRADES, {"booked": _BOOKED, "low": low, "high": high})]
    changed += [_stock_event(row) for row in _fetch(
        _NEW_STOCK.format(where="m.account_id >= %(low)s AND m.account_id < %(high)s"), {"low": low, "high": high})]
    if not changed:
        return outcome
    pairs = sorted({(e.account_id, e.instrument_id) for e in changed})
    accounts, instruments = [p[0] for p in pairs], [p[1] for p in pairs]

    # A position's lots are relieved in lot order (trade date, stock movements first, id) whenever its events
    # were posted: from the earliest changed event of a position (new, amended, cancelled), every entry posted
    # for a later one is restated. So the ledger does not depend on when the posting runs happened.
    earliest: dict[tuple[int, int], tuple] = {}
    for event in changed:
        key = (event.account_id, event.instrument_id)
        earliest[key] = min(earliest.get(key, event.order), event.order)
    active = _fetch(_ACTIVE, [accounts, instruments])
    to_reverse = [row[:7] for row in active
                  if _order(row[7], row[2], row[3]) >= earliest[(row[0], row[1])]]
    reverse_ids = [row[6] for row in to_reverse]
    moves = _fetch(_LOT_MOVES, [reverse_ids]) if reverse_ids else []
    lot_rows = _fetch(_LOTS, [accounts, instruments, sorted({m[1] for m in moves})])

    lots: dict[tuple[int, int], list[lotmath.Lot]] = defaultdict(list)
    lot_by_id: dict[int, lotmath.Lot] = {}
    for lot_id, account_id, instrument_id, opened_on, opened_by, quantity, cost in lot_rows:
        lot = lotmath.Lot(lot_id, opened_on, quantity, cost, opened_by)
        lots[(account_id, instrument_id)].append(lot)
        lot_by_id[lot_id] = lot

    # Events to post per position: the changed ones still wanted, and those restated.
    by_key = {(e.source_type, e.source_id): e for e in changed}
    restated_trades = [row[3] for row in to_reverse if row[2] == TRADE and (TRADE, row[3]) not in by_key]
    restated_stock = [row[3] for row in to_reverse if row[2] == STOCK and (STOCK, row[3]) not in by_key]
    for row in _fetch(_TRADES_BY_ID, {"booked": _BOOKED, "ids": restated_trades}) if restated_trades else []:
        event = _trade_event(row)
        by_key[(TRADE, event.source_id)] = event
    if restated_stock:
        for row in _fetch(_NEW_STOCK.format(where="m.id = ANY(%(ids)s::bigint[])").replace(
                "AND s.entry_id IS NULL", ""), {"ids": restated_stock}):
            by_key[(STOCK, row[0])] = _stock_event(row)
    for _account, _instrument, source_type, source_id, version, generation, entry_id in to_reverse:
        event = by_key[(source_type, source_id)]
        event.posted_version, event.posted_generation, event.posted_entry = version, generation, entry_id

    lot_changes: list[tuple[object, list[lotmath.LotChange]]] = []  # (draft, changes)
    states: dict[tuple[str, int], tuple] = {}
    if to_reverse:
        _reverse(to_reverse, moves, lot_by_id, by_key, outcome, lot_changes, states)

    per_position: dict[tuple[int, int], list[LotEvent]] = defaultdict(list)
    for event in by_key.values():
        if event.wanted:
            per_position[(event.account_id, event.instrument_id)].append(event)
    fx = FxBook({e.currency for e in by_key.values()})
    for key in sorted(per_position):
        method = methods.get(key[0], lotmath.FIFO)
        for event in sorted(per_position[key], key=lambda e: e.order):
            try:
                draft, changes = _draft(event, lots[key], method, fx)
            except Unpostable as exc:
                # Later events of the position wait too: lots are relieved in trade-date order.
                outcome.skip(str(exc))
                break
            outcome.drafts.append(draft)
            lot_changes.append((draft, changes))
            states[(event.source_type, event.source_id)] = (event, draft)
            outcome.posted += 1

    entries_write(outcome.drafts, roles=roles, periods=periods, job_id=job_id, actor=actor, reason=reason)
    _write_lots(lot_changes, lots)
    _write_states(states)
    return outcome


def _reverse(to_reverse, moves, lot_by_id, by_key, outcome: Outcome, lot_changes, states) -> None:
    """Reverse restated entries newest first: mirror their lines, undo their lot changes."""
    ids = [row[6] for row in to_reverse]
    lines: dict[int, list] = defaultdict(list)
    heads: dict[int, tuple] = {}
    for entry_id, role, amount, base, quantity, rate, event_date, currency in _fetch(_ENTRY_LINES, [ids]):
        lines[entry_id].append((role, amount, base, quantity))
        heads[entry_id] = (rate, event_date, currency)
    moves_of: dict[int, list] = defaultdict(list)
    for entry_id, lot_id, quantity, cost in moves:
        moves_of[entry_id].append((lot_by_id[lot_id], quantity, cost))
    for account_id, instrument_id, source_type, source_id, version, generation, entry_id in reversed(to_reverse):
        event = by_key[(source_type, source_id)]
        rate, event_date, currency = heads[entry_id]
        draft = reversal_of(entry_id, lines[entry_id], rule=f"{source_type}_REVERSAL",
                            event_date=event_date,
                            source=(source_type, source_id, version, generation), account_id=account_id,
                            instrument_id=instrument_id, currency=currency, fx_rate=rate,
                            description=f"Reversal of entry {entry_id} ({source_type.lower()} {source_id})")
        outcome.drafts.append(draft)
        lot_changes.append((draft, lotmath.undo(moves_of[entry_id])))
        states[(source_type, source_id)] = (event, None)
        outcome.reversed += 1


def _draft(event: LotEvent, position_lots: list[lotmath.Lot], method: str, fx: FxBook):
    """The entry of one lot event and its lot changes (raise Unpostable, leaving the lots untouched)."""
    if event.value is None:
        raise Unpostable(f"no price on or before {event.day.isoformat()} for a stock movement")
    rate = fx.rate(event.currency, event.day)
    snapshot = [(lot, lot.quantity, lot.cost, lot.changed) for lot in position_lots]
    relief = lotmath.apply(position_lots, quantity=event.quantity, value=event.value, day=event.day, method=method)
    buying = event.quantity > 0
    if event.source_type == TRADE:
        rule = "TRADE_BUY" if buying else "TRADE_SELL"
        amounts = {"gross": event.value, "commission": event.commission,
                   "realized": relief.investments - (event.value if buying else -event.value)}
        side = "Buy" if buying else "Sell"
        description = (f"{side} {abs(event.quantity).normalize():f} @ {event.price.normalize():f} "
                       f"(trade {event.source_id})")
        version = event.version
    else:
        rule = "STOCK_IN" if buying else "STOCK_OUT"
        amounts = {"value": relief.investments, "cost": -relief.investments}
        if buying:
            amounts = {"value": event.value, "realized": relief.investments - event.value}
        description = f"Stock movement {event.source_id}: {event.quantity.normalize():f}"
        version = 0
    lines = lines_for(rule, amounts, quantity=abs(event.quantity))
    generation = 0
    if event.posted_generation is not None and (event.posted_version or 0) == version:
        generation = event.posted_generation + 1
    draft = DraftEntry(source_type=event.source_type, source_id=event.source_id, source_version=version,
                       generation=generation, rule=rule, event_date=event.day, currency=event.currency,
                       description=description, lines=lines, account_id=event.account_id,
                       instrument_id=event.instrument_id, fx_rate=rate)
    try:
        price_lines(draft, fx)
    except Unpostable:
        for lot, quantity, cost, changed in snapshot:
            lot.quantity, lot.cost, lot.changed = quantity, cost, changed
        del position_lots[len(snapshot):]
        raise
    return draft, relief.changes


def _write_lots(lot_changes, lots) -> None:
    """Insert the lots opened, update those changed, and record every change as a lot movement."""
    new = [lot for position in lots.values() for lot in position if lot.id is None]
    ids = allocate_ids(CostLot, len(new))
    opened_by = {}
    for draft, changes in lot_changes:
        for change in changes:
            if change.lot.id is None and id(change.lot) not in opened_by:
                opened_by[id(change.lot)] = draft
    rows = []
    for lot, lot_id in zip(new, ids, strict=True):
        lot.id = lot_id
        draft = opened_by[id(lot)]
        rows.append((lot_id, draft.account_id, draft.instrument_id, draft.currency, lot.opened_on, draft.id,
                     lot.quantity, lot.cost))
    insert_rows(CostLot, ("id", "account_id", "instrument_id", "currency", "opened_on", "opened_by_id", "quantity",
                          "cost"), rows)
    new_ids = set(ids)
    changed = [lot for position in lots.values() for lot in position if lot.changed and lot.id not in new_ids]
    if changed:
        with connection.cursor() as cursor:
            cursor.execute(_UPDATE_LOTS, [[lot.id for lot in changed], [lot.quantity for lot in changed],
                                          [lot.cost for lot in changed]])
    insert_rows(LotMovement, ("lot_id", "entry_id", "quantity", "cost"),
                [(change.lot.id, draft.id, change.quantity, change.cost)
                 for draft, changes in lot_changes for change in changes])


def _write_states(states) -> None:
    if not states:
        return
    columns = [[], [], [], [], [], [], []]
    for (source_type, source_id), (event, draft) in states.items():
        if draft is None:  # reversed, not posted again
            values = (source_type, source_id, event.account_id, event.instrument_id, event.posted_version or 0,
                      event.posted_generation or 0, None)
        else:
            values = (source_type, source_id, event.account_id, event.instrument_id, draft.source_version,
                      draft.generation, draft.id)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_STATE, columns)
