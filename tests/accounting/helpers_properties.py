"""What the ledger's property tests share: the blotter driven step by step, a model of the order in which
the posting engine posts lot events, and an oracle of FIFO and average-cost lots written from DESIGN.md §7.

The oracle knows nothing of accounting/posting/lots.py: lots are (quantity, cost) pairs, signed (long
positive, short negative). A movement first relieves lots of the opposite sign (FIFO: oldest first;
average cost: the one pooled lot) at their cost pro rata (a lot taken whole gives all its cost), then
opens a lot (FIFO) or joins the pool (average cost) with what remains at the movement's own value
(pro rata when part of it closed lots). Amounts round to four places, half away from zero.

The order model is the engine's documented rule (accounting/posting/trades.py): each posting run, per
position, finds the earliest posted event that changed (amended, cancelled, held), takes it and every
event posted after it off the position's sequence, and appends what is left of them plus the events
never posted, sorted by (date, stock movements before trades, id). With no change, new events are
appended after those posted by earlier runs.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum

from accounting.models import CostLot, JournalLine
from records.positions.models import StockMovement
from records.reference.models import Price
from records.trades import services as trade_services
from records.trades.models import Trade

D = Decimal
ZERO = D(0)
FIFO, AVERAGE = "FIFO", "AVERAGE"
POSITION_STATUSES = ("BOOKED", "CLEARED", "SETTLED", "PARTIALLY_SETTLED", "FAILED")  # DESIGN.md §2: in the position
LOT_SOURCES = ("TRADE", "STOCK")


def r4(value: Decimal) -> Decimal:
    return value.quantize(D("0.0001"), rounding=ROUND_HALF_UP)


# --- the blotter ---

def book(firm, account: str, counterparty: str, symbol: str, side: str, quantity: Decimal, price: Decimal,
         commission: Decimal, day: date) -> int:
    """Book one trade through capture (BOOKED, or HELD by a pre-trade check); return its id."""
    from tests.clearing.helpers_netting import ISINS

    firm.refs += 1
    item = trade_services.TradeInput(external_ref=f"PROP-{firm.refs}", account=account, counterparty=counterparty,
                                     instrument=ISINS[symbol], side=side, quantity=quantity, price=price,
                                     trade_date=day, commission=commission)
    with transaction.atomic():
        result = trade_services.trade_submit_batch(submitted_by=firm.maker, items=[(0, item)])[0]
    assert result.status == trade_services.CREATED, result
    return result.trade_id


def prices_now() -> dict:
    """{instrument id: [(date, price)] newest first} as the engine reads them (latest date, then source)."""
    table = defaultdict(list)
    for instrument_id, day, value in Price.objects.order_by("instrument_id", "-price_date", "source").values_list(
            "instrument_id", "price_date", "price"):
        table[instrument_id].append((day, value))
    return table


def price_on(table: dict, instrument_id: int, day: date) -> Decimal | None:
    for when, value in table.get(instrument_id, []):
        if when <= day:
            return value
    return None


# --- the order model ---

# The engine keeps every position in (date, stock first, id) order, restating from the earliest event a run
# changes or adds (test_an_as_of_trade_posted_late_takes_its_trade_date_place_in_fifo): every run leaves each
# position as one run of the blotter would from scratch.

@dataclass(frozen=True)
class Posted:
    """A lot event as it was (re)posted: what the oracle replays."""

    kind: str  # TRADE or STOCK
    id: int
    day: date
    quantity: Decimal  # signed
    value: Decimal  # unsigned, quantity × price rounded
    commission: Decimal
    version: int

    @property
    def order(self):
        return (self.day, 0 if self.kind == "STOCK" else 1, self.id)


@dataclass
class OrderModel:
    """Per (account id, instrument id): the events the ledger holds, in the order they were posted."""

    sequences: dict = field(default_factory=lambda: defaultdict(list))
    out_of_order: bool = False  # some position's sequence is not in (date, stock first, id) order

    @staticmethod
    def current() -> dict:
        """Every lot event as the ledger should post it now: {(kind, id): (position, Posted or None if unwanted)}."""
        table = prices_now()
        events = {}
        for (pk, account_id, instrument_id, side, quantity, price, commission, day, version,
             status) in Trade.objects.values_list("id", "account_id", "instrument_id", "side", "quantity", "price",
                                                  "commission", "trade_date", "version", "status"):
            signed = quantity if side == "BUY" else -quantity
            wanted = status in POSITION_STATUSES
            events[("TRADE", pk)] = ((account_id, instrument_id), Posted(
                "TRADE", pk, day, signed, r4(quantity * price), commission, version) if wanted else None)
        for pk, account_id, instrument_id, quantity, day in StockMovement.objects.values_list(
                "id", "account_id", "instrument_id", "quantity", "value_date"):
            price = price_on(table, instrument_id, day)
            assert price is not None, "the tests keep a price for every stock movement's date"
            events[("STOCK", pk)] = ((account_id, instrument_id), Posted(
                "STOCK", pk, day, quantity, r4(abs(quantity) * price), ZERO, 0))
        return events

    def post(self) -> set:
        """What one posting run does to the sequences; return the positions it restated."""
        events = self.current()
        wanted_by_position = defaultdict(list)
        for key, (position, posted) in events.items():
            if posted is not None:
                wanted_by_position[position].append(key)
        restated = set()
        for position in set(self.sequences) | set(wanted_by_position):
            sequence = self.sequences[position]
            held = {(p.kind, p.id) for p in sequence}
            changed = [n for n, p in enumerate(sequence)
                       if events[(p.kind, p.id)][1] is None or events[(p.kind, p.id)][1].version != p.version]
            new = [key for key in wanted_by_position[position] if key not in held]
            if changed or new:
                # The engine restates from the earliest event that changed or arrived, in lot order: what comes
                # before it keeps its entries as posted (a stock movement its value, however the price was
                # corrected since); from it on, everything is reposted as it stands now.
                earliest = min([sequence[n].order for n in changed] + [events[key][1].order for key in new]
                               + [events[(sequence[n].kind, sequence[n].id)][1].order for n in changed
                                  if events[(sequence[n].kind, sequence[n].id)][1] is not None])
                redone = [p for p in sequence if p.order >= earliest]
                if redone:
                    restated.add(position)
                new += [(p.kind, p.id) for p in redone if events[(p.kind, p.id)][1] is not None]
                sequence[:] = [p for p in sequence if p.order < earliest]
            sequence.extend(sorted((events[key][1] for key in new), key=lambda p: p.order))
            if [p.order for p in sequence] != sorted(p.order for p in sequence):
                self.out_of_order = True
        return restated

    @staticmethod
    def from_scratch() -> dict:
        """The sequences one posting run of the current blotter would post on an empty ledger."""
        sequences = defaultdict(list)
        for position, posted in OrderModel.current().values():
            if posted is not None:
                sequences[position].append(posted)
        return {position: sorted(events, key=lambda p: p.order) for position, events in sequences.items()}


# --- the lot oracle ---

def _relieve(lots: list[list[Decimal]], quantity: Decimal, value: Decimal, method: str) -> Decimal:
    """Move a signed quantity worth value through lots; return the change of the investments account."""
    sign = 1 if quantity > 0 else -1
    remaining = abs(quantity)
    relieved = ZERO
    for lot in lots:
        if not remaining:
            break
        if lot[0] == 0 or (lot[0] > 0) == (sign > 0):
            continue
        take = min(abs(lot[0]), remaining)
        cost = lot[1] if take == abs(lot[0]) else r4(lot[1] * take / abs(lot[0]))
        lot[0] += sign * take
        lot[1] -= cost
        relieved += cost
        remaining -= take
    opened = ZERO
    if remaining:
        opened = sign * (value if remaining == abs(quantity) else r4(value * remaining / abs(quantity)))
        if method == AVERAGE and lots:
            lots[0][0] += sign * remaining
            lots[0][1] += opened
        else:
            lots.append([sign * remaining, opened])
    return opened - relieved


@dataclass
class Expected:
    """What the trade-date entries of one position should add up to."""

    roles: dict  # role -> (amount, quantity), non-zero only
    lots: list  # open lots (quantity, cost), oldest first
    realized: Decimal


def replay(sequence: list[Posted], method: str) -> Expected:
    lots: list[list[Decimal]] = []
    roles: dict = defaultdict(lambda: [ZERO, ZERO])
    realized = ZERO

    def add(role, amount, quantity=ZERO):
        roles[role][0] += amount
        roles[role][1] += quantity

    for event in sequence:
        investments = _relieve(lots, event.quantity, event.value, method)
        add("INVESTMENTS", investments, event.quantity)
        if event.kind == "TRADE":
            gain = investments - (event.value if event.quantity > 0 else -event.value)
            add("PAYABLE_PURCHASES" if event.quantity > 0 else "RECEIVABLE_SALES",
                -event.value if event.quantity > 0 else event.value)
            add("COMMISSION_EXPENSE", event.commission)
            add("COMMISSIONS_PAYABLE", -event.commission)
        elif event.quantity > 0:
            gain = investments - event.value
            add("SECURITIES_CONTRIBUTED", -event.value)
        else:
            gain = ZERO
            add("SECURITIES_CONTRIBUTED", -investments)
        add("REALIZED_PNL", -gain)
        realized += gain
    return Expected({role: tuple(v) for role, v in roles.items() if v[0] or v[1]},
                    [(q, c) for q, c in lots if q or c], realized)


# --- the ledger read back ---

def lot_ledger() -> dict:
    """{(account id, instrument id): {role: (amount, quantity)}} of the trade-date entries (trades, stock)."""
    found = defaultdict(dict)
    for account_id, instrument_id, role, amount, quantity in JournalLine.objects.filter(
            entry__source_type__in=LOT_SOURCES).values("account_id", "instrument_id", "gl_account__role").annotate(
            amount=Sum("amount"), quantity=Sum("quantity")).values_list(
            "account_id", "instrument_id", "gl_account__role", "amount", "quantity"):
        if amount or quantity:
            found[(account_id, instrument_id)][role] = (amount, quantity)
    return found


def open_lots() -> dict:
    found = defaultdict(list)
    for account_id, instrument_id, quantity, cost in CostLot.objects.order_by("id").values_list(
            "account_id", "instrument_id", "quantity", "cost"):
        if quantity or cost:
            found[(account_id, instrument_id)].append((quantity, cost))
    return found


def ledger_by(*fields, until: date | None = None, **filters) -> dict:
    """Σ amount, Σ base amount and Σ quantity of the lines grouped by fields (non-zero rows only)."""
    lines = JournalLine.objects.filter(**filters)
    if until is not None:
        lines = lines.filter(entry_date__lte=until)
    rows = lines.values(*fields).annotate(amount=Sum("amount"), base=Sum("base_amount"),
                                               quantity=Sum("quantity")).values_list(*fields, "amount", "base",
                                                                                     "quantity")
    return {row[:-3]: row[-3:] for row in rows if any(row[-3:])}
