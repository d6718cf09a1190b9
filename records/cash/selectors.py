"""Reads of cash: balances per account and currency, and their totals per currency.

available = balance - reserved (cash earmarked for settlement instructions that pay, records/cash/reservations.py)
+ the account's credit limit: what the account can still pay with, as settlement and withdrawals count it.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, QuerySet, Sum

from records.cash.models import CashBalance, CashMovement


def cash_movement_list() -> QuerySet[CashMovement]:
    """Cash movements, latest value date first (the API filters them by account, currency and dates)."""
    return CashMovement.objects.select_related("account").order_by("-value_date", "-id")


def cash_balance_list() -> QuerySet[CashBalance]:
    """Balances with credit_limit (the account's) and available_amount (balance - reserved + credit limit)."""
    return (CashBalance.objects.select_related("account")
            .annotate(credit_limit=F("account__credit_limit"),
                      available_amount=F("balance") - F("reserved") + F("account__credit_limit"))
            .order_by("account__code", "currency"))


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    balance: Decimal
    reserved: Decimal
    available: Decimal  # balance - reserved + the credit limits of the accounts holding the balances
    accounts: int
    credit_limit: Decimal = Decimal(0)


def cash_balance_search(*, account: str | None = None, currency: str | None = None) -> QuerySet[CashBalance]:
    """Return cash balances per account and currency; account is an account code."""
    balances = cash_balance_list()
    if account:
        balances = balances.filter(account__code__iexact=account)
    if currency:
        balances = balances.filter(currency__iexact=currency)
    return balances


def cash_totals_by_currency(balances: QuerySet[CashBalance]) -> list[CurrencyTotal]:
    """Sum a set of balances per currency (amounts in different currencies are never added)."""
    rows = (balances.order_by().values("currency")
            .annotate(total_balance=Sum("balance"), total_reserved=Sum("reserved"),
                      total_credit=Sum("account__credit_limit"), accounts=Count("account"))
            .order_by("currency"))
    zero = Decimal("0")
    return [
        CurrencyTotal(currency=row["currency"], balance=row["total_balance"] or zero,
                      reserved=row["total_reserved"] or zero,
                      available=(row["total_balance"] or zero) - (row["total_reserved"] or zero)
                      + (row["total_credit"] or zero),
                      accounts=row["accounts"], credit_limit=row["total_credit"] or zero)
        for row in rows
    ]
