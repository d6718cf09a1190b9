"""Pre-trade checks: a pluggable list in settings.PRETRADE_CHECKS, like AUTH_PASSWORD_VALIDATORS.

Each entry is ``{"NAME": "dotted.path.Class", "OPTIONS": {...}}``. The class is built once with
its OPTIONS and called with a whole batch of candidate trades, so a check that needs data (limits,
restricted lists, positions) can load it for the batch in a query or two. It returns one outcome
per candidate it objects to; trade capture rejects (400, reasons under "compliance") or holds
(status HELD) accordingly. Records never imports the compliance app: compliance plugs its
checks in here through the setting.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

REJECT = "REJECT"
HOLD = "HOLD"


@dataclass
class TradeCandidate:
    """A trade that passed validation and is about to be booked (or a proposed amendment)."""

    index: int
    account: object
    counterparty: object
    instrument: object
    side: str
    quantity: Decimal
    price: Decimal
    currency: str
    trade_date: date
    settlement_date: date
    commission: Decimal
    external_ref: str = ""
    trade_id: int | None = None  # set for an amendment of an existing trade

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price


@dataclass(frozen=True)
class CheckOutcome:
    index: int
    action: str  # REJECT or HOLD
    check: str
    reason: str


@dataclass
class CheckResults:
    """Outcomes per candidate index."""

    by_index: dict[int, list[CheckOutcome]] = field(default_factory=dict)

    def rejections(self, index: int) -> list[CheckOutcome]:
        return [o for o in self.by_index.get(index, []) if o.action == REJECT]

    def holds(self, index: int) -> list[CheckOutcome]:
        return [o for o in self.by_index.get(index, []) if o.action == HOLD]


class PreTradeCheck:
    """Base class: subclasses implement check_batch()."""

    code = "check"

    def __init__(self, action: str = REJECT, **options):
        if action not in (REJECT, HOLD):
            raise ImproperlyConfigured(f"{type(self).__name__}: action must be REJECT or HOLD, not {action!r}")
        self.action = action
        self.options = options

    def check_batch(self, candidates: Sequence[TradeCandidate]) -> list[CheckOutcome]:
        raise NotImplementedError

    def outcome(self, candidate: TradeCandidate, reason: str) -> CheckOutcome:
        return CheckOutcome(index=candidate.index, action=self.action, check=self.code, reason=reason)


class MaxNotionalCheck(PreTradeCheck):
    """Fat-finger limit on notional (quantity x price) per trade, in the trade's currency.

    OPTIONS: ``max_notional`` (default limit), ``per_currency`` ({"JPY": "5000000000"}), ``action``.
    """

    code = "max_notional"

    def __init__(self, max_notional="100000000", per_currency=None, **options):
        super().__init__(**options)
        self.max_notional = Decimal(str(max_notional))
        self.per_currency = {k: Decimal(str(v)) for k, v in (per_currency or {}).items()}

    def check_batch(self, candidates):
        outcomes = []
        for c in candidates:
            limit = self.per_currency.get(c.currency, self.max_notional)
            if c.notional > limit:
                outcomes.append(self.outcome(c, f"Notional {c.notional:,.2f} {c.currency} exceeds the "
                                                f"limit of {limit:,.2f} {c.currency} per trade."))
        return outcomes


class MaxQuantityCheck(PreTradeCheck):
    """Fat-finger limit on quantity per trade. OPTIONS: ``max_quantity``, ``action``."""

    code = "max_quantity"

    def __init__(self, max_quantity="10000000", **options):
        super().__init__(**options)
        self.max_quantity = Decimal(str(max_quantity))

    def check_batch(self, candidates):
        return [self.outcome(c, f"Quantity {c.quantity:,} exceeds the limit of {self.max_quantity:,} per trade.")
                for c in candidates if c.quantity > self.max_quantity]


@cache
def get_pretrade_checks() -> tuple[PreTradeCheck, ...]:
    checks = []
    for entry in getattr(settings, "PRETRADE_CHECKS", []):
        try:
            cls = import_string(entry["NAME"])
        except ImportError as exc:
            raise ImproperlyConfigured(f"PRETRADE_CHECKS: cannot import {entry['NAME']!r}") from exc
        checks.append(cls(**entry.get("OPTIONS", {})))
    return tuple(checks)


@receiver(setting_changed)
def _reset_checks(*, setting, **kwargs):
    if setting == "PRETRADE_CHECKS":
        get_pretrade_checks.cache_clear()


def run_pretrade_checks(candidates: Sequence[TradeCandidate]) -> CheckResults:
    """Run every configured check over the batch; return the outcomes per candidate."""
    results = CheckResults()
    if not candidates:
        return results
    for check in get_pretrade_checks():
        for outcome in check.check_batch(candidates):
            results.by_index.setdefault(outcome.index, []).append(outcome)
    return results
