"""The pre-trade checks, plugged into trade capture through settings.PRETRADE_CHECKS, and the trade hook
that raises the alerts of pre-trade rules whose action is ALERT (settings.TRADE_HOOKS).

Trade capture (records) runs whatever the setting lists and never imports this module: the
plug-in machinery (TradeCandidate, PreTradeCheck, the runner) is records.trades.pretrade. Each check
sees the whole batch at once and answers one outcome per candidate it objects to. A rejection
answers 400 with the reasons under "compliance"; a hold books the trade as HELD for a person to release.

RulesCheck evaluates the compliance rules of the pre-trade kinds (compliance/rules/: rules as data, each
with its scope, threshold, action and effective dates; docs/compliance.md "Pre-trade checks"). Per batch:
one round trip carrying one statement per kind that needs data (compliance/pretrade_selectors.py), whatever
the batch's size, and the rules' generation: the rules themselves are kept per process and read again only
when that number moved (compliance migration 0005). The trades are then taken in
batch order, each kind a small evaluator over the loaded data; an earlier trade of the batch that the rules
let through counts in the positions and the cash of the later ones (two buys that together exceed buying
power: the second is refused). Every reason starts with the rule's code: "[buying-power] Buy of ...".
"""

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from backoffice.core.bulk import select_all
from backoffice.core.fields import format_decimal
from compliance import pretrade_selectors as loads
from compliance.alerts.services import AlertDraft, alerts_raise
from compliance.restricted import selectors as restricted_selectors
from compliance.rules.models import PRETRADE_KINDS, ComplianceRule, RuleAction, RuleKind, RuleScope
from compliance.rules.selectors import rules_applying
from records.reference.models import Account
from records.trades import hooks
from records.trades.models import Trade
from records.trades.pretrade import HOLD, REJECT, CheckOutcome, PreTradeCheck, TradeCandidate


class RestrictedListCheck(PreTradeCheck):
    """No trade in an instrument on the restricted list on the trade's trade date (compliance/restricted/).

    One query per batch, whatever its size and trade dates: every entry of the batch's instruments that
    overlaps its range of trade dates, matched to each trade in memory. An amendment is checked like a
    new trade (its trade date does not change): a trade in a restricted instrument can still be cancelled.
    OPTIONS: ``action`` (REJECT by default).
    """

    code = "restricted_list"

    def check_batch(self, candidates):
        entries = restricted_selectors.restricted_covering(
            instrument_ids={c.instrument.pk for c in candidates},
            date_from=min(c.trade_date for c in candidates), date_to=max(c.trade_date for c in candidates))
        if not entries:
            return []
        return [self.outcome(c, f"Instrument {c.instrument.isin} is on the restricted list on "
                                f"{c.trade_date.isoformat()}: {entry.reason}")
                for c in candidates for entry in entries.get(c.instrument.pk, ()) if entry.restricts(c.trade_date)]


class CurrencyCheck(PreTradeCheck):
    """The trade's currency must be the instrument's: no cross-currency trade is booked by mistake."""

    code = "currency"

    def check_batch(self, candidates):
        return [self.outcome(c, f"Instrument {c.instrument.isin} trades in {c.instrument.currency}, "
                                f"not {c.currency}.")
                for c in candidates if c.currency != c.instrument.currency]




# --- Rules as data -------------------------------------------------------------------------------------------

ALERT = RuleAction.ALERT.value
_ZERO = Decimal(0)
STOPPING = (REJECT, HOLD)
BUY = Trade.Side.BUY
POSITION_STATUSES = frozenset(Trade.POSITION_STATUSES)


def _num(value: Decimal) -> str:
    """A quantity or limit with thousands separators and no trailing zeros: 50,000,000 or 1,234.5."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):,}"
    return f"{value.normalize():,f}"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


@dataclass(frozen=True)
class Hit:
    """A rule a trade fails: the action to take (the rule's, or REJECT from the penalty box), the reason and the
    figures behind it (an alert's evidence)."""

    candidate: TradeCandidate
    rule: ComplianceRule
    action: str
    reason: str
    figures: dict = field(default_factory=dict)


def _hit(candidate, rule, text, *, action=None, **figures) -> Hit:
    return Hit(candidate, rule, action or rule.action, f"[{rule.code}] {text}",
               {k: _figure(v) for k, v in figures.items()})


def _figure(value) -> str:
    if isinstance(value, Decimal):
        return format_decimal(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _signed(candidate: TradeCandidate) -> Decimal:
    return candidate.quantity if candidate.side == BUY else -candidate.quantity


def _cost(candidate: TradeCandidate) -> Decimal:
    return candidate.quantity * candidate.price + candidate.commission


@dataclass
class _Context:
    """What the evaluators share over one batch: the loaded data, the trades whose current effect is taken out
    of it (an amended trade's old terms; in the alert hook, the booked trades themselves), and the running
    effect of the batch's earlier trades the rules let through."""

    data: dict = field(default_factory=dict)
    own: dict = field(default_factory=dict)  # trade id -> TradeTerms
    own_position: dict = field(default_factory=lambda: defaultdict(Decimal))
    own_cost: dict = field(default_factory=lambda: defaultdict(Decimal))
    positions: dict = field(default_factory=lambda: defaultdict(Decimal))
    spent: dict = field(default_factory=lambda: defaultdict(Decimal))

    def set_own(self, own: dict) -> None:
        self.own = own
        for terms in own.values():
            if terms.status in POSITION_STATUSES:
                self.own_position[(terms.account_id, terms.instrument_id)] += (
                    terms.quantity if terms.side == BUY else -terms.quantity)
            if terms.status == Trade.Status.BOOKED and terms.side == BUY:
                self.own_cost[(terms.account_id, terms.currency)] += terms.cost

    def position_before(self, loaded: dict, account_id: int, instrument_id: int) -> Decimal:
        """The trade-date position before this trade: stored, less the own trades, plus the batch's earlier."""
        key = (account_id, instrument_id)
        return loaded.get(key, Decimal(0)) - self.own_position.get(key, Decimal(0)) + self.positions.get(key, 0)

    def apply(self, candidate: TradeCandidate) -> None:
        self.positions[(candidate.account.id, candidate.instrument.id)] += _signed(candidate)
        if candidate.side == BUY:
            self.spent[(candidate.account.id, candidate.currency)] += _cost(candidate)


class _Kind:
    """One kind of pre-trade rule: the data it needs for a batch (one statement, or none) and its check."""

    kind: str
    # A stateless kind judges each trade alone (checked kind by kind over the batch); the others depend on the
    # batch's earlier trades (checked trade by trade, in batch order).
    stateless = False

    def loads(self, items: list[TradeCandidate]) -> list[tuple[str, loads.Load]]:
        return []

    def check(self, c: TradeCandidate, rules: list, ctx: _Context) -> list[Hit]:
        raise NotImplementedError

    def suspects(self, candidates: list[TradeCandidate], rules: list, ctx: _Context) -> Iterable[TradeCandidate]:
        """The candidates that may fail (a cheap filter before check); every one by default."""
        return candidates

    def check_many(self, candidates: list[TradeCandidate], rules: list, ctx: _Context) -> list[Hit]:
        return [hit for c in self.suspects(candidates, rules, ctx) for hit in self.check(c, rules, ctx)]


def _floor(rules) -> Decimal | None:
    """The lowest threshold of the rules (None if one has none: no filter)."""
    thresholds = [r.threshold for r in rules]
    return None if any(t is None for t in thresholds) else min(thresholds)


class _AccountStatus(_Kind):
    """The account must be active, and its KYC review not expired (kyc_review_due before the trade date)."""

    kind = RuleKind.ACCOUNT_STATUS
    stateless = True

    def suspects(self, candidates, rules, ctx):
        active = Account.Status.ACTIVE
        return [c for c in candidates if c.account.status != active
                or (c.account.kyc_review_due is not None and c.account.kyc_review_due < c.trade_date)]

    def check(self, c, rules, ctx):
        account, texts = c.account, []
        if account.status != account.Status.ACTIVE:
            texts.append(f"Account {account.code} is {account.get_status_display().lower()}.")
        if account.kyc_review_due is not None and account.kyc_review_due < c.trade_date:
            texts.append(f"Account {account.code}: KYC review expired on {account.kyc_review_due.isoformat()}.")
        return [_hit(c, rule, text, status=account.status, kyc_review_due=account.kyc_review_due or "")
                for rule in rules for text in texts]


class _Notional(_Kind):
    """quantity x price above the threshold, in the trade's currency (params.per_currency overrides)."""

    kind = RuleKind.NOTIONAL
    stateless = True

    def suspects(self, candidates, rules, ctx):
        floors = [r.threshold for r in rules]
        for r in rules:
            floors += [Decimal(str(v)) for v in ((r.params or {}).get("per_currency") or {}).values()]
        if None in floors:
            return candidates
        floor = min(floors)
        return [c for c in candidates if c.quantity * c.price > floor]

    def check(self, c, rules, ctx):
        hits = []
        notional = c.quantity * c.price
        for rule in rules:
            per_currency = (rule.params or {}).get("per_currency")
            limit = Decimal(str(per_currency[c.currency])) if per_currency and c.currency in per_currency \
                else rule.threshold
            if limit is not None and notional > limit:
                hits.append(_hit(c, rule, f"Notional {_money(notional)} {c.currency} exceeds the limit of "
                                          f"{_money(limit)} {c.currency} per trade.",
                                 notional=notional, limit=limit, currency=c.currency))
        return hits


class _Quantity(_Kind):
    kind = RuleKind.QUANTITY
    stateless = True

    def suspects(self, candidates, rules, ctx):
        floor = _floor(rules)
        return candidates if floor is None else [c for c in candidates if c.quantity > floor]

    def check(self, c, rules, ctx):
        return [_hit(c, rule, f"Quantity {_num(c.quantity)} exceeds the limit of {_num(rule.threshold)} per trade.",
                     quantity=c.quantity, limit=rule.threshold)
                for rule in rules if rule.threshold is not None and c.quantity > rule.threshold]


class _PriceDeviation(_Kind):
    """|price - last price| / last price x 100 above the threshold; the last price is the instrument's latest
    records Price on or before the trade date, in the trade's currency (none: the rule passes)."""

    kind = RuleKind.PRICE_DEVIATION
    stateless = True

    def suspects(self, candidates, rules, ctx):
        floor = _floor(rules)
        if floor is None:
            return candidates
        prices, bands, out = ctx.data["last_prices"], {}, []
        for c in candidates:
            key = (c.instrument.id, c.trade_date, c.currency)
            band = bands.get(key)
            if band is None:
                last = prices.get(key[:2])
                band = bands[key] = ((last.price * (100 - floor) / 100, last.price * (100 + floor) / 100)
                                     if last is not None and last.currency == c.currency else ())
            if band and not band[0] <= c.price <= band[1]:
                out.append(c)
        return out

    def loads(self, items):
        return [("last_prices", loads.last_prices_load({(c.instrument.id, c.trade_date) for c in items}))]

    def check(self, c, rules, ctx):
        last = ctx.data["last_prices"].get((c.instrument.id, c.trade_date))
        if last is None or last.currency != c.currency:
            return []
        away = abs(c.price - last.price) / last.price * 100
        return [_hit(c, rule, f"Price {_num(c.price)} {c.currency} is {away:.2f}% away from the last price "
                              f"{_num(last.price)} {c.currency} of {last.day.isoformat()}: more than "
                              f"{_num(rule.threshold)}%.",
                     price=c.price, last_price=last.price, last_price_date=last.day, away_pct=f"{away:.4f}",
                     limit_pct=rule.threshold)
                for rule in rules if rule.threshold is not None and away > rule.threshold]


class _BuyingPower(_Kind):
    """A buy's cost (quantity x price + commission) within the account's buying power in the trade's currency:
    cash balance - reserved - cost of its BOOKED buys (not yet instructed, so not reserved) - the batch's
    earlier buys + credit limit (converted from the base currency at the latest FX rate on or before the trade
    date; no rate: not counted). The threshold is the buying power that must remain after the buy, in the
    account's base currency (converted the same way; without a rate, taken as it is)."""

    kind = RuleKind.BUYING_POWER

    def loads(self, items):
        keys = {(c.account.id, c.currency, c.account.base_currency, c.trade_date) for c in items if c.side == BUY}
        if not keys:
            return []
        return [("funds", loads.funds_load(keys))]

    def check(self, c, rules, ctx):
        if c.side != BUY:
            return []
        account = c.account
        funds = ctx.data["funds"][(account.id, c.currency, c.trade_date)]
        key = (account.id, c.currency)
        uncovered = funds.uncovered - ctx.own_cost.get(key, 0)  # an amended trade's old terms: replaced
        earlier = ctx.spent.get(key, 0)
        cash = funds.balance - funds.reserved - uncovered - earlier
        limit = account.credit_limit
        if not limit:
            credit = Decimal(0)
        elif account.base_currency == c.currency:
            credit = limit
        else:
            credit = loads.convert(limit, funds.rate, funds.direct) or Decimal(0)
        power, cost = cash + credit, c.quantity * c.price + c.commission
        cross = account.base_currency != c.currency
        failed = []
        for rule in rules:
            # The buying power the rule wants left, in the trade's currency (its threshold: the base currency).
            kept = rule.threshold or _ZERO
            if kept and cross and funds.rate is not None:
                kept = loads.convert(kept, funds.rate, funds.direct)
            if cost > power - kept:
                failed.append((rule, kept))
        if not failed:
            return []
        # The reason, only for a buy that fails.
        pending = uncovered + earlier
        detail = f"cash {_money(cash)} available"
        if pending:
            detail += f" after {_money(pending)} of buys not yet instructed"
        if limit and cross and funds.rate is None:
            detail += (f", credit limit {_money(limit)} {account.base_currency} not counted: no "
                       f"{account.base_currency}/{c.currency} rate on or before {c.trade_date.isoformat()}")
        elif limit and cross:
            detail += f", credit limit {_money(credit)} = {_money(limit)} {account.base_currency}"
        else:
            detail += f", credit limit {_money(credit)}"
        return [_hit(c, rule, f"Buy of {_money(cost)} {c.currency} exceeds buying power of {_money(power)} "
                              f"{c.currency}" + (f", {_money(kept)} of which must remain" if kept else "")
                              + f" ({detail}).",
                     cost=cost, buying_power=power, must_remain=kept, cash_balance=funds.balance,
                     reserved=funds.reserved, booked_buys=pending, credit_limit=credit, currency=c.currency)
                for rule, kept in failed]


class _ShortSale(_Kind):
    """A sale is long when the trade-date position (and the batch's earlier trades) covers it (Reg SHO Rule
    200); otherwise the short position after it must be covered by the locates and borrows recorded for the
    account and instrument on the trade date. In the penalty box only borrows count, and an uncovered short
    sale is rejected whatever the rule's action."""

    kind = RuleKind.SHORT_SALE

    def loads(self, items):
        sells = [c for c in items if c.side != BUY]
        if not sells:
            return []
        return [("shorts", loads.shorts_load({(c.account.id, c.instrument.id) for c in sells},
                                             date_from=min(c.trade_date for c in sells),
                                             date_to=max(c.trade_date for c in sells)))]

    def check(self, c, rules, ctx):
        if c.side == BUY:
            return []
        data = ctx.data["shorts"]
        key = (c.account.id, c.instrument.id)
        before = ctx.position_before(data.positions, *key)
        if before >= c.quantity:
            return []
        short = c.quantity - before  # the short position after the trade
        since = data.penalty.get(key)
        kinds = {"BORROW"} if since is not None else {"LOCATE", "BORROW"}
        covered = sum((cover.quantity for cover in data.covers.get(key, ())
                       if cover.kind in kinds and cover.covers(c.trade_date)), Decimal(0))
        if covered >= short:
            return []
        account, isin = c.account.code, c.instrument.isin
        figures = {"position_before": before, "short_after": short, "covered": covered}
        if since is not None:
            return [_hit(c, rule, f"Account {account} is in the Reg SHO penalty box for {isin} since "
                                  f"{since.isoformat()}: a short sale needs a pre-borrow (short {_num(short)} after "
                                  f"the trade, {_num(covered)} borrowed).", action=REJECT, penalty_box_since=since,
                         **figures) for rule in rules]
        return [_hit(c, rule, f"Sale of {_num(c.quantity)} {isin} is short: the position covers "
                              f"{_num(max(before, Decimal(0)))}, the short position after it ({_num(short)}) needs a "
                              f"locate or borrow ({_num(covered)} recorded for {c.trade_date.isoformat()}).",
                     **figures) for rule in rules]


class _PositionLimit(_Kind):
    """|trade-date position after the trade (and the batch's earlier trades)| above the threshold (quantity)."""

    kind = RuleKind.POSITION_LIMIT

    def loads(self, items):
        return [("positions", loads.positions_load({(c.account.id, c.instrument.id) for c in items}))]

    def check(self, c, rules, ctx):
        after = ctx.position_before(ctx.data["positions"], c.account.id, c.instrument.id) + _signed(c)
        return [_hit(c, rule, f"Position of {c.account.code} in {c.instrument.isin} would be {_num(after)} after "
                              f"the trade: above the limit of {_num(rule.threshold)}.",
                     position_after=after, limit=rule.threshold)
                for rule in rules if rule.threshold is not None and abs(after) > rule.threshold]


class _Concentration(_Kind):
    """The projected position's market value as a % of the account's gross market value after the trade, in the
    account's base currency (latest prices and FX rates on or before the trade date; a holding without either
    is left out), when that gross value is at least params.min_portfolio_value."""

    kind = RuleKind.CONCENTRATION

    def loads(self, items):
        days, instruments = defaultdict(set), defaultdict(set)
        for c in items:
            days[c.account.id].add(c.trade_date)
            instruments[c.account.id].add(c.instrument.id)
        extra = [(a, d, i) for a in days for d in days[a] for i in instruments[a]]
        return [("portfolios", loads.portfolios_load(((a, d) for a in days for d in days[a]), extra))]

    def check(self, c, rules, ctx):
        holdings = ctx.data["portfolios"].get((c.account.id, c.trade_date), {})
        account_id, gross, value = c.account.id, Decimal(0), None
        for holding in holdings.values():
            if holding.unit_value is None:
                continue
            quantity = ctx.position_before({(account_id, holding.instrument_id): holding.quantity}, account_id,
                                           holding.instrument_id)
            if holding.instrument_id == c.instrument.id:
                quantity += _signed(c)
                value = abs(quantity * holding.unit_value)
            gross += abs(quantity * holding.unit_value)
        if value is None or not gross:
            return []
        share = value / gross * 100
        base = c.account.base_currency
        hits = []
        for rule in rules:
            floor = Decimal(str((rule.params or {}).get("min_portfolio_value") or 0))
            if rule.threshold is not None and gross >= floor and share > rule.threshold:
                hits.append(_hit(c, rule, f"Position in {c.instrument.isin} would be {share:.2f}% of the gross "
                                          f"market value of {c.account.code} ({_money(gross)} {base}) after the "
                                          f"trade: more than {_num(rule.threshold)}%.",
                                 position_value=value, gross_value=gross, share_pct=f"{share:.4f}",
                                 limit_pct=rule.threshold, currency=base))
        return hits


KINDS: dict[str, _Kind] = {k.kind: k for k in (
    _AccountStatus(), _BuyingPower(), _ShortSale(), _PositionLimit(), _Concentration(), _Notional(), _Quantity(),
    _PriceDeviation())}
if set(KINDS) != set(PRETRADE_KINDS):
    raise ImproperlyConfigured("compliance.pretrade: every pre-trade kind of rule needs its evaluator.")


def _selected(rules: list, kind: str, *, alerts: bool) -> list:
    """Of the applying rules, those this pass acts on: ALERT rules for the alert hook; REJECT and HOLD ones for
    the check (and short-sale ALERT rules too, which the penalty box turns into a rejection)."""
    if alerts:
        return [r for r in rules if r.action == ALERT]
    return [r for r in rules if r.action != ALERT or kind == RuleKind.SHORT_SALE]


# --- The rules in force, kept per process ---------------------------------------------------------------------

# The active pre-trade rules, read once per process and kept with the generation read just before them
# (compliance migration 0005: a number that changes, in the changing transaction, whenever a rule does). Every
# batch reads the generation again in the round trip that carries its data and starts over with the rules
# reloaded when it differs: no batch is ever checked against rules older than the ones committed when its data
# was read, and a batch costs no query for the rules.
GENERATION_SQL = "SELECT generation FROM compliance_rulesgeneration WHERE id = 1"
_RELOADS = 3  # rules changing under a batch this many times in a row: the last ones read are used


@dataclass
class _Rules:
    generation: int
    rules: list  # the active pre-trade rules, by kind and code
    checked: float  # time.monotonic() when the generation was last found unchanged


_rules_cache: dict[str, _Rules] = {}


def _rules_load() -> _Rules:
    """The generation, then the rules (in that order: the rules are at least as new as the number)."""
    with connection.cursor() as cursor:
        cursor.execute(GENERATION_SQL)
        generation = cursor.fetchone()[0]
    rules = list(ComplianceRule.objects.filter(kind__in=PRETRADE_KINDS, active=True).order_by("kind", "code"))
    entry = _rules_cache["rules"] = _Rules(generation, rules, time.monotonic())
    return entry


def _rules_cached() -> _Rules:
    return _rules_cache.get("rules") or _rules_load()


@receiver([post_save, post_delete], sender=ComplianceRule)
def _rules_changed(**kwargs):
    """This process changed a rule: read them again (other processes see the new generation)."""
    _rules_cache.clear()


def _in_force(rules: list, date_from: date, date_to: date) -> list:
    return [r for r in rules if (r.effective_from is None or r.effective_from <= date_to)
            and (r.effective_to is None or r.effective_to >= date_from)]


@dataclass
class _Plan:
    """Which rules act on which trades of a batch: the stateless kinds as groups of trades checked together, the
    others per trade (taken in batch order), and per kind the trades whose data it loads."""

    groups: list = field(default_factory=list)  # (evaluator, rules, candidates)
    stepwise: dict = field(default_factory=lambda: defaultdict(list))  # candidate index -> [(evaluator, rules)]
    items: dict = field(default_factory=lambda: defaultdict(list))  # kind -> candidates

    @classmethod
    def of(cls, ordered: list[TradeCandidate], rules: Iterable, *, alerts: bool) -> "_Plan":
        plan = cls()
        by_kind: dict[str, list] = defaultdict(list)
        for rule in rules:
            by_kind[rule.kind].append(rule)
        # Which rules apply depends on the day only for a kind whose rules are all for ALL; else on the account and
        # instrument too. Worked out once per key, not per trade.
        scoped = [kind for kind, rs in by_kind.items() if any(r.scope != RuleScope.ALL for r in rs)]
        unscoped = [kind for kind in by_kind if kind not in scoped]
        by_day: dict = defaultdict(list)
        for c in ordered:
            by_day[c.trade_date].append(c)
        for day, day_candidates in by_day.items():
            first = day_candidates[0]
            for kind in unscoped:
                chosen = _selected(rules_applying(by_kind[kind], account=first.account, instrument=first.instrument,
                                                  day=day), kind, alerts=alerts)
                if chosen:
                    plan.add(KINDS[kind], chosen, day_candidates)
        if scoped:
            per_key: dict = {}
            for c in ordered:
                for kind in scoped:
                    key = (kind, c.account.id, c.instrument.id, c.trade_date)
                    if key not in per_key:
                        per_key[key] = (_selected(rules_applying(by_kind[kind], account=c.account,
                                                                 instrument=c.instrument, day=c.trade_date),
                                                  kind, alerts=alerts), [])
                    per_key[key][1].append(c)
            for (kind, *_), (chosen, members) in per_key.items():
                if chosen:
                    plan.add(KINDS[kind], chosen, members)
        return plan

    def add(self, evaluator: "_Kind", chosen: list, members: list[TradeCandidate]) -> None:
        self.items[evaluator.kind] += members
        if evaluator.stateless:
            self.groups.append((evaluator, chosen, members))
        else:
            for c in members:
                self.stepwise[c.index].append((evaluator, chosen))

    def loads(self, ordered: list[TradeCandidate], *, own: dict | None) -> list[tuple[str, loads.Load]]:
        queries = [named for kind, kind_items in self.items.items() for named in KINDS[kind].loads(kind_items)]
        amended = sorted({c.trade_id for c in ordered if c.trade_id is not None})
        if own is None and amended and any(k in self.items for k in _POSITIONAL):
            queries.append(("own", loads.trade_terms_load(amended)))
        return queries


_POSITIONAL = (RuleKind.SHORT_SALE, RuleKind.POSITION_LIMIT, RuleKind.CONCENTRATION, RuleKind.BUYING_POWER)


def evaluate(candidates: Sequence[TradeCandidate], *, alerts: bool = False, rules: Iterable | None = None,
             own: dict | None = None) -> list[Hit]:
    """The hits of the pre-trade rules on a batch, in batch order: one round trip for the data of the kinds that
    apply to some trade, carrying the rules' generation (the rules themselves come from the process's copy,
    reloaded when the generation moved; or are given).

    alerts: evaluate the ALERT rules of trades already booked (own: their terms, whose effect on the stored
    positions and booked buys is taken out, then added back trade by trade); else the REJECT and HOLD rules of
    trades about to be booked (an amendment's old terms are loaded and taken out the same way).
    """
    if not candidates:
        return []
    ordered = sorted(candidates, key=lambda c: c.index)
    date_from, date_to = min(c.trade_date for c in ordered), max(c.trade_date for c in ordered)
    cached = None if rules is not None else _rules_cached()
    for attempt in range(_RELOADS + 1):
        plan = _Plan.of(ordered, rules if cached is None else _in_force(cached.rules, date_from, date_to),
                        alerts=alerts)
        queries = plan.loads(ordered, own=own)
        statements = [(q.sql, q.params) for _, q in queries]
        if cached is not None:
            statements.insert(0, (GENERATION_SQL, []))
        results = select_all(statements) if statements else []
        if cached is None:
            break
        generation = results.pop(0)[0][0]
        if generation == cached.generation or attempt == _RELOADS:
            cached.checked = time.monotonic()
            break
        cached = _rules_load()
    ctx = _Context()
    ctx.data = {name: q.parse(rows) for (name, q), rows in zip(queries, results, strict=True)}
    ctx.set_own(own if own is not None else ctx.data.get("own", {}))

    found: dict[int, list[Hit]] = defaultdict(list)
    stopped: set[int] = set()
    for evaluator, chosen, members in plan.groups:
        for hit in evaluator.check_many(members, chosen, ctx):
            found[hit.candidate.index].append(hit)
            if hit.action in STOPPING:
                stopped.add(hit.candidate.index)
    stepwise = plan.stepwise
    if stepwise:
        # In batch order: a trade the rules let through counts for the later ones.
        apply = ctx.apply
        for c in ordered:
            stop = c.index in stopped
            for evaluator, chosen in stepwise.get(c.index, ()):
                for hit in evaluator.check(c, chosen, ctx):
                    found[c.index].append(hit)
                    stop = stop or hit.action in STOPPING
            if alerts or not stop:
                apply(c)
    # Each trade's hits in the order of the kinds, then of the rules' codes.
    return [hit for c in ordered if c.index in found
            for hit in sorted(found[c.index], key=lambda h: (h.rule.kind, h.rule.code))]


class RulesCheck(PreTradeCheck):
    """The compliance rules of the pre-trade kinds (REJECT and HOLD; ALERT rules alert after booking, through
    alerts_on_trades). No OPTIONS: what it checks, and what it does, are the rules' (compliance/rules/)."""

    code = "rules"

    def check_batch(self, candidates):
        return [CheckOutcome(index=hit.candidate.index, action=hit.action, check=hit.rule.code, reason=hit.reason)
                for hit in evaluate(candidates) if hit.action in STOPPING]


# --- Alerts of ALERT rules, after booking (settings.TRADE_HOOKS) -------------------------------------------------

# The alert hook runs on every booking, right after the check that read the rules' generation: it takes the
# process's rules as they are when they were found current this recently, and checks the generation otherwise.
_ALERT_RULES_FRESH = 5.0


def _active_pretrade_rules() -> list[ComplianceRule]:
    cached = _rules_cached()
    if time.monotonic() - cached.checked > _ALERT_RULES_FRESH:
        generation = select_all([(GENERATION_SQL, [])])[0][0][0]
        cached = _rules_load() if generation != cached.generation else cached
        cached.checked = time.monotonic()
    return cached.rules


_ALERT_EVENTS = (hooks.BOOKED, hooks.AMENDED, hooks.RELEASED)


def alerts_on_trades(*, trade_ids, event, actor) -> None:
    """Trade hook: raise an alert (compliance.alerts) per trade and pre-trade ALERT rule it hits.

    Trades counted in the positions only (a HELD trade alerts when it is released). One query re-reads the
    trades; the rules are evaluated as before booking (the trades' own effect taken out of the stored
    positions and booked buys, the batch's earlier trades added back). The dedupe key is the trade and its
    version: a rerun, or a repeat of the hook, raises nothing twice; an amendment is a new version.
    """
    if event not in _ALERT_EVENTS:
        return
    rules = _active_pretrade_rules()
    if not any(rule.action == ALERT for rule in rules):
        return
    trades = list(Trade.objects.filter(pk__in=list(trade_ids), status__in=Trade.POSITION_STATUSES)
                  .select_related("account", "counterparty", "instrument").order_by("pk"))
    if not trades:
        return
    candidates, own = [], {}
    for index, t in enumerate(trades):
        candidates.append(TradeCandidate(
            index=index, account=t.account, counterparty=t.counterparty, instrument=t.instrument, side=t.side,
            quantity=t.quantity, price=t.price, currency=t.currency, trade_date=t.trade_date,
            settlement_date=t.settlement_date, commission=t.commission, external_ref=t.external_ref, trade_id=t.pk))
        own[t.pk] = loads.TradeTerms(t.pk, t.account_id, t.instrument_id, t.status, t.side, t.quantity, t.currency,
                                     t.quantity * t.price + t.commission)
    hits = [hit for hit in evaluate(candidates, alerts=True, rules=rules, own=own) if hit.action == ALERT]
    by_index = {c.index: t for c, t in zip(candidates, trades, strict=True)}
    drafts = []
    for hit in hits:
        t = by_index[hit.candidate.index]
        label = f"Trade {t.pk}: {t.side} {_num(t.quantity)} {t.instrument.isin} @ {_num(t.price)} {t.currency}"
        drafts.append(AlertDraft(
            rule=hit.rule, subject_type="TRADE", subject_id=t.pk, dedupe_key=f"trade:{t.pk}:v{t.version}",
            business_date=t.trade_date, summary=hit.reason[:500], account_id=t.account_id,
            instrument_id=t.instrument_id,
            evidence={"records": [{"type": "TRADE", "id": t.pk, "label": label},
                                  {"type": "ACCOUNT", "id": t.account_id, "label": t.account.code}],
                      "figures": hit.figures}))
    if drafts:
        alerts_raise(actor=actor, drafts=drafts)
