"""The short sales of the demo firm (``manage.py load_shorts_demo``, after ``load_demo``, before the clearing demo).

What a real firm's books would show: the hedge funds' short sales, each covered by a borrow or a locate recorded
first (the stock-loan desk's), and two trades the pre-trade checks hold for a person to release or reject (a short
sale nobody located, a price far from the last close: a fat finger). Everything goes through the services (locates
audited, trades through trade capture and its checks) and is idempotent: references and external references are
fixed, so a rerun records and books nothing twice.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import transaction

from backoffice.core.context import correlation
from backoffice.core.fields import format_decimal
from compliance.shorts import services
from compliance.shorts.models import Locate
from records.demo import COUNTERPARTIES, INSTRUMENTS_BY_ISIN, demo_oms_user
from records.positions.models import Position
from records.reference.models import Account, Instrument, Price
from records.reference.services.calendar import is_trading_session, market_today

DEMO_ACTOR = "job:load_shorts_demo"


@dataclass(frozen=True)
class DemoShort:
    """A sale of `short` more than the account holds, covered by `cover` shares of a `kind` (None: uncovered)."""

    ref: str
    account: str
    symbol: str
    short: Decimal
    kind: str | None = None
    cover: Decimal = Decimal(0)
    source: str = ""
    price_factor: Decimal = Decimal("1.001")


SHORTS: tuple[DemoShort, ...] = (
    DemoShort("DEMO-SHORT-0001", "CL-HF-001", "TSLA", Decimal(15000), Locate.Kind.BORROW, Decimal(20000),
              "Borrowed from Atlantic Prime Brokerage (stock loan desk)"),
    DemoShort("DEMO-SHORT-0002", "CL-HF-001", "NFLX", Decimal(2000), Locate.Kind.LOCATE, Decimal(2500),
              "Located: Atlantic Prime Brokerage easy-to-borrow list"),
    DemoShort("DEMO-SHORT-0003", "CL-HF-002", "META", Decimal(4000), Locate.Kind.LOCATE, Decimal(4000),
              "Located by phone with Harbour Securities lending desk"),
    # Nobody located these shares: held by the short-sale rule for compliance to release or reject.
    DemoShort("DEMO-SHORT-0004", "CL-HF-002", "NVDA", Decimal(3000)),
)
# A fat finger: a price 12% above the last close, held by the price-deviation rule.
FAT_FINGER = ("DEMO-FATFINGER-0001", "CL-AM-001", "MSFT", Decimal(500), Decimal("1.12"))


@dataclass
class ShortsDemoSummary:
    created: list[str] = field(default_factory=list)
    existing: int = 0
    refused: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [*self.created, f"{self.existing} already there", *[f"refused: {r}" for r in self.refused]]


def _instrument(symbol: str) -> Instrument:
    isin = next(spec.isin for spec in INSTRUMENTS_BY_ISIN.values() if spec.symbol == symbol)
    return Instrument.objects.select_related("market").get(isin=isin)


def _trade_day(instrument: Instrument, today: dt.date | None) -> dt.date:
    """Today where the market trades today, else its last session."""
    day = today or market_today(market=instrument.market)
    while not is_trading_session(market=instrument.market, day=day):
        day -= dt.timedelta(days=1)
    return day


def _trade(ref: str, account: Account, instrument: Instrument, side: str, quantity: Decimal, factor: Decimal,
           day: dt.date) -> dict | None:
    close = (Price.objects.filter(instrument=instrument, price_date__lte=day).order_by("-price_date")
             .values_list("price", flat=True).first())
    dealer = next((c.code for c in COUNTERPARTIES if not c.is_ccp and c.deals_in(INSTRUMENTS_BY_ISIN[instrument.isin])),
                  None)
    if close is None or dealer is None:
        return None
    price = (close * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return {"external_ref": ref, "account": account.code, "counterparty": dealer, "instrument": instrument.isin,
            "side": side, "quantity": format_decimal(quantity), "price": format_decimal(price),
            "currency": instrument.currency, "trade_date": day.isoformat(), "settlement_date": None,
            "commission": format_decimal(max(Decimal("1.00"), quantity * Decimal("0.01")))}


def load_shorts_demo(*, today: dt.date | None = None) -> ShortsDemoSummary:
    """Record the demo's locates and borrows and book its short sales and held trades; a rerun adds nothing."""
    from records.trades.input import parse_trade
    from records.trades.models import Trade
    from records.trades.services import CREATED, trade_submit_batch

    summary = ShortsDemoSummary()
    accounts = {a.code: a for a in Account.objects.filter(code__in={s.account for s in SHORTS} | {FAT_FINGER[1]})}
    if not accounts:
        summary.refused.append("the demo firm is not loaded: run load_demo first")
        return summary
    booked = set(Trade.objects.filter(external_ref__startswith="DEMO-").values_list("external_ref", flat=True))
    user = demo_oms_user()
    with correlation(f"{DEMO_ACTOR}:{uuid.uuid4().hex[:12]}"):
        wanted = []  # (external ref, trade input)
        for short in SHORTS:
            if short.ref in booked:
                summary.existing += 1
                continue
            account, instrument = accounts[short.account], _instrument(short.symbol)
            day = _trade_day(instrument, today)
            reference = f"{short.ref}-{short.kind}" if short.kind else None
            if reference and not Locate.objects.filter(reference=reference).exists():
                with transaction.atomic():
                    # A borrow taken a few days before, open until returned; a locate for the day of the sale.
                    services.locate_create(
                        actor=DEMO_ACTOR, account=account, instrument=instrument, kind=short.kind,
                        quantity=short.cover, source=short.source, reference=reference,
                        valid_from=day - dt.timedelta(days=3) if short.kind == Locate.Kind.BORROW else day)
                summary.created.append(f"{short.kind.lower()} {reference}: {format_decimal(short.cover)} "
                                       f"{short.symbol} for {account.code}")
            position = (Position.objects.filter(account=account, instrument=instrument)
                        .values_list("traded_quantity", flat=True).first() or Decimal(0))
            wanted.append(_trade(short.ref, account, instrument, "SELL", max(position, Decimal(0)) + short.short,
                                 short.price_factor, day))
        ref, code, symbol, quantity, factor = FAT_FINGER
        if ref in booked:
            summary.existing += 1
        else:
            instrument = _instrument(symbol)
            day = _trade_day(instrument, today)
            wanted.append(_trade(ref, accounts[code], instrument, "BUY", quantity, factor, day))
        items = []
        for index, raw in enumerate(w for w in wanted if w is not None):
            item, errors = parse_trade(raw)
            if errors:
                summary.refused.append(f"{raw['external_ref']}: {errors}")
            else:
                items.append((index, item, raw))
        with transaction.atomic():
            results = trade_submit_batch(submitted_by=user, items=[(i, item) for i, item, _ in items])
        by_index = {i: raw for i, _, raw in items}
        for result in results.values():
            raw = by_index[result.index]
            if result.status == CREATED:
                status = Trade.objects.filter(pk=result.trade_id).values_list("status", flat=True).first()
                summary.created.append(f"trade {raw['external_ref']}: {raw['account']} {raw['side']} "
                                       f"{raw['quantity']} {raw['instrument']} @ {raw['price']} ({status})")
            elif result.trade_id is not None:
                summary.existing += 1
            else:
                summary.refused.append(f"{raw['external_ref']}: {result.errors}")
    return summary
