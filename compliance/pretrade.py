"""The pre-trade checks, plugged into trade capture through settings.PRETRADE_CHECKS.

Trade capture (records) runs whatever the setting lists and never imports this module: the
plug-in machinery (TradeCandidate, PreTradeCheck, the runner) is records.trades.pretrade. Each check
sees the whole batch at once and answers one outcome per candidate it objects to; its action
(REJECT or HOLD) comes from its OPTIONS. A rejection answers 400 with the reasons under
"compliance"; a hold books the trade as HELD for a person to release.
"""

from decimal import Decimal

from compliance.restricted import selectors as restricted_selectors
from records.trades.pretrade import PreTradeCheck


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


class AccountStatusCheck(PreTradeCheck):
    """The account must be active: a suspended or closed account books nothing."""

    code = "account_status"

    def check_batch(self, candidates):
        return [self.outcome(c, f"Account {c.account.code} is {c.account.get_status_display().lower()}.")
                for c in candidates if c.account.status != c.account.Status.ACTIVE]


class CurrencyCheck(PreTradeCheck):
    """The trade's currency must be the instrument's: no cross-currency trade is booked by mistake."""

    code = "currency"

    def check_batch(self, candidates):
        return [self.outcome(c, f"Instrument {c.instrument.isin} trades in {c.instrument.currency}, "
                                f"not {c.currency}.")
                for c in candidates if c.currency != c.instrument.currency]


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
