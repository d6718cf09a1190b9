"""The posting rules, in one place, as data: event x leg -> debit account, credit account, amount.

DESIGN.md §7. Accounts are named by their role in the chart of accounts (GLAccount.role). A leg
posts its amount as a debit line on `debit` and a credit line on `credit`; a negative amount (a
loss, a withdrawal) swaps the two. Lines of one entry on the same account are merged. `quantity`
names the side whose line carries the securities moved (so the investments account reconciles to
the stock record). The posting engine (accounting/posting/) computes each amount and never
decides an account itself; docs/accounting.md shows this table (a test keeps the two equal).

A reversal (an amended or cancelled trade, yesterday's mark to market) posts every line of the
entry it reverses with its sign flipped, dated when it is posted (for MTM: the next day).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Leg:
    event: str
    leg: str
    debit: str
    credit: str
    amount: str  # the name of the amount the engine computes for the event
    meaning: str  # the amount, for people
    quantity: str = ""  # "debit" or "credit": that line carries the securities moved


RULES: tuple[Leg, ...] = (
    # Trade date (trade-date accounting). Commission is expensed, never capitalised, and settled with
    # the broker apart from the DVP cash (netting's net cash excludes it): its own payable.
    Leg("TRADE_BUY", "purchase", "INVESTMENTS", "PAYABLE_PURCHASES", "gross", "quantity × price", "debit"),
    Leg("TRADE_BUY", "short covered", "INVESTMENTS", "REALIZED_PNL", "realized",
        "short lots covered: their proceeds − the cost of covering them"),
    Leg("TRADE_BUY", "commission", "COMMISSION_EXPENSE", "COMMISSIONS_PAYABLE", "commission", "commission"),
    Leg("TRADE_SELL", "sale", "RECEIVABLE_SALES", "INVESTMENTS", "gross", "quantity × price", "credit"),
    Leg("TRADE_SELL", "realized", "INVESTMENTS", "REALIZED_PNL", "realized",
        "proceeds − cost of the lots relieved (FIFO or average cost, as the account is set)"),
    Leg("TRADE_SELL", "commission", "COMMISSION_EXPENSE", "COMMISSIONS_PAYABLE", "commission", "commission"),
    # Stock movements that are not trades (opening positions, transfers): at the day's price in, at cost out.
    Leg("STOCK_IN", "received", "INVESTMENTS", "SECURITIES_CONTRIBUTED", "value",
        "quantity × price on the value date", "debit"),
    Leg("STOCK_IN", "short covered", "INVESTMENTS", "REALIZED_PNL", "realized",
        "short lots covered: their proceeds − the value received against them"),
    Leg("STOCK_OUT", "delivered", "SECURITIES_CONTRIBUTED", "INVESTMENTS", "cost", "cost of the lots relieved",
        "credit"),
    # Netting: the trades' receivables and payables become one net obligation per counterparty key.
    Leg("NETTING", "purchases netted", "PAYABLE_PURCHASES", "NET_OBLIGATIONS", "buys",
        "Σ quantity × price of the netted buys, as their trades posted"),
    Leg("NETTING", "sales netted", "NET_OBLIGATIONS", "RECEIVABLE_SALES", "sells",
        "Σ quantity × price of the netted sells, as their trades posted"),
    Leg("NETTING", "rounding", "SETTLEMENT_DIFFERENCES", "NET_OBLIGATIONS", "rounding",
        "(sells − buys as posted) − net cash (each trade rounded vs the obligation rounded once)"),
    # Settlement, delivery versus payment; a partial settles its proportional cash (settlement run).
    Leg("SETTLEMENT_NET", "cash", "CASH", "NET_OBLIGATIONS", "cash", "cash moved (negative: paid)"),
    Leg("SETTLEMENT_GROSS_SELL", "cash", "CASH", "RECEIVABLE_SALES", "cash", "cash received"),
    Leg("SETTLEMENT_GROSS_BUY", "cash", "PAYABLE_PURCHASES", "CASH", "paid", "cash paid"),
    # Cash movements (settlement cash posts above, from its settlement movement).
    Leg("CASH_FUNDS", "cash", "CASH", "ACCOUNT_FUNDS", "amount",
        "deposit, opening balance or adjustment (negative: withdrawal)"),
    Leg("CASH_FEE", "fee paid", "PENALTIES_PAYABLE", "CASH", "paid", "fee or penalty paid"),
    # CSDR fail penalties, accrued daily: paid when we failed, received when the counterparty did.
    Leg("PENALTY_PAID", "penalty", "PENALTY_EXPENSE", "PENALTIES_PAYABLE", "amount", "the day's penalty"),
    Leg("PENALTY_RECEIVED", "penalty", "PENALTIES_RECEIVABLE", "PENALTY_INCOME", "amount", "the day's penalty"),
    # End of day: mark to market, reversed the next day; FX revaluation of foreign-currency balances.
    Leg("MTM", "valuation", "VALUATION", "UNREALIZED_PNL", "unrealized",
        "quantity × closing price − cost (the investments account's balance)"),
    Leg("FX_REVALUATION", "revaluation", "*monetary account*", "FX_REVALUATION", "revaluation",
        "balance × closing rate − its carried base amount (base currency only)"),
)


def legs_of(event: str) -> tuple[Leg, ...]:
    """Return the legs of an event, in table order (KeyError for an event without a rule)."""
    legs = _BY_EVENT.get(event)
    if legs is None:
        raise KeyError(f"no posting rule for event {event!r}")
    return legs


_BY_EVENT: dict[str, tuple[Leg, ...]] = {}
for _leg in RULES:
    _BY_EVENT[_leg.event] = (*_BY_EVENT.get(_leg.event, ()), _leg)


@dataclass
class DraftLine:
    role: str | int  # a role of the chart, or a GL account id (manual entries, revaluation of any account)
    amount: Decimal
    quantity: Decimal
    base_amount: Decimal | None = None  # set directly only by base-only lines (FX revaluation)


def lines_for(event: str, amounts: Mapping[str, Decimal], *, quantity: Decimal = Decimal(0)) -> list[DraftLine]:
    """The lines an event posts: each leg's amount debited and credited, merged per account role.

    amounts maps each amount name of the event's legs to its value (missing or zero: the leg posts
    nothing); quantity (unsigned) goes on the line its leg names. Lines that net to zero are dropped
    unless they carry a quantity.
    """
    merged: dict[str, DraftLine] = {}
    for leg in legs_of(event):
        value = amounts.get(leg.amount, Decimal(0))
        moved = quantity if leg.quantity else Decimal(0)
        if not value and not moved:
            continue
        for role, sign, side in ((leg.debit, 1, "debit"), (leg.credit, -1, "credit")):
            line = merged.setdefault(role, DraftLine(role, Decimal(0), Decimal(0)))
            line.amount += sign * value
            if leg.quantity == side:
                line.quantity += sign * moved
    return [line for line in merged.values() if line.amount or line.quantity]


def rules_table() -> list[dict]:
    """The rules as rows for the dashboard and the docs."""
    return [{"event": leg.event, "leg": leg.leg, "debit": leg.debit, "credit": leg.credit, "amount": leg.meaning}
            for leg in RULES]


def rules_markdown() -> str:
    """The rules as the Markdown table docs/accounting.md shows (a test keeps the two equal)."""
    rows = ["| event | leg | debit | credit | amount |", "| --- | --- | --- | --- | --- |"]
    rows += [f"| `{leg.event}` | {leg.leg} | {leg.debit} | {leg.credit} | {leg.meaning} |" for leg in RULES]
    return "\n".join(rows)
