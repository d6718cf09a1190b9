"""Pre-trade checks: a pluggable list in settings.PRETRADE_CHECKS, like AUTH_PASSWORD_VALIDATORS.

Each entry is ``{"NAME": "dotted.path.Class", "OPTIONS": {...}}``. The class is built once with
its OPTIONS and called with a whole batch of candidate trades, so a check that needs data (limits,
restricted lists, positions) can load it for the batch in a query or two. It returns one outcome
per candidate it objects to; trade capture rejects (400, reasons under "compliance") or holds
(status HELD) accordingly. Records never imports the compliance app: the checks themselves
(account status, currency, fat-finger limits) are compliance.pretrade's, plugged in through the
setting.
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
