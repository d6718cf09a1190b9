"""Reads of the books and records. Other apps read records' data through these."""

from datetime import date

from django.db.models import F, QuerySet

from .models import Account, CashBalance, Counterparty, Instrument, Market, Price


def instrument_list() -> QuerySet[Instrument]:
    return Instrument.objects.select_related("market").order_by("isin")


def instrument_get(isin: str) -> Instrument | None:
    return instrument_list().filter(isin=isin).first()


def instruments_by_isin(isins) -> dict[str, Instrument]:
    return {i.isin: i for i in instrument_list().filter(isin__in=set(isins))}


def account_list() -> QuerySet[Account]:
    return Account.objects.order_by("code")


def account_get(code: str) -> Account | None:
    return Account.objects.filter(code=code).first()


def accounts_by_code(codes) -> dict[str, Account]:
    return {a.code: a for a in Account.objects.filter(code__in=set(codes))}


def counterparty_list() -> QuerySet[Counterparty]:
    return Counterparty.objects.select_related("clears_through").order_by("code")


def counterparty_get(code: str) -> Counterparty | None:
    return counterparty_list().filter(code=code).first()


def market_list() -> QuerySet[Market]:
    return Market.objects.order_by("mic")


def price_list() -> QuerySet[Price]:
    return Price.objects.select_related("instrument").order_by("instrument__isin", "-price_date", "source")


def price_latest(*, instrument: Instrument, as_of: date) -> Price | None:
    """Return the latest price on or before as_of (newest update wins between sources)."""
    return (Price.objects.filter(instrument=instrument, price_date__lte=as_of)
            .select_related("instrument").order_by("-price_date", "-updated_at", "-id").first())


def cash_balance_list() -> QuerySet[CashBalance]:
    return (CashBalance.objects.select_related("account")
            .annotate(available_amount=F("balance") - F("reserved"))
            .order_by("account__code", "currency"))
