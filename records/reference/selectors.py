"""Reads of reference data: instruments, accounts, counterparties, markets and prices.

Other apps and the other parts of records read reference data through these. The dashboard's
filters are keyword arguments already parsed by the view; None means "do not filter".
"""

from datetime import date, timedelta

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from records.reference.models import Account, Counterparty, Instrument, Market, Price


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


# --- dashboard reads ---

def _latest_price_subquery(*, as_of: date, instrument_ref: str, field: str) -> Subquery:
    # Same order as price_latest: the newest date, then the newest update between sources.
    latest = (Price.objects.filter(instrument=OuterRef(instrument_ref), price_date__lte=as_of)
              .order_by("-price_date", "-updated_at", "-id").values(field)[:1])
    return Subquery(latest)


def with_latest_price(queryset: QuerySet, *, as_of: date, instrument_ref: str) -> QuerySet:
    """Annotate each row with its instrument's latest price and price date on or before as_of (None if never priced).

    instrument_ref names the instrument's id on the row: "pk" for instruments, "instrument_id" for positions.
    """
    return queryset.annotate(
        latest_price=_latest_price_subquery(as_of=as_of, instrument_ref=instrument_ref, field="price"),
        latest_price_date=_latest_price_subquery(as_of=as_of, instrument_ref=instrument_ref, field="price_date"),
    )


def instrument_search(*, as_of: date, asset_class: str | None = None, market: str | None = None,
                      search: str | None = None) -> QuerySet[Instrument]:
    """Return instruments by ISIN, each with its latest price on or before as_of (None if never priced).

    search matches part of the ISIN, symbol or name, case-insensitively.
    """
    instruments = instrument_list()
    if asset_class:
        instruments = instruments.filter(asset_class=asset_class)
    if market:
        instruments = instruments.filter(market_id=market)
    if search:
        instruments = instruments.filter(
            Q(isin__icontains=search) | Q(symbol__icontains=search) | Q(name__icontains=search))
    return with_latest_price(instruments, as_of=as_of, instrument_ref="pk")


# The KYC review filter of the accounts page: expired (its last covered trade date is past), due within
# KYC_DUE_SOON, or none recorded.
KYC_EXPIRED, KYC_DUE, KYC_NONE = "EXPIRED", "DUE", "NONE"
KYC_CHOICES = [(KYC_EXPIRED, "Expired"), (KYC_DUE, "Due within 30 days"), (KYC_NONE, "None recorded")]
KYC_DUE_SOON = timedelta(days=30)


def account_search(*, status: str | None = None, kind: str | None = None, search: str | None = None,
                   kyc: str | None = None, today: date | None = None) -> QuerySet[Account]:
    """Return accounts by code; search matches part of the code, name or beneficial owner; kyc (KYC_CHOICES)
    compares the KYC review date with today."""
    accounts = account_list()
    if status:
        accounts = accounts.filter(status=status)
    if kind:
        accounts = accounts.filter(kind=kind)
    if search:
        accounts = accounts.filter(Q(code__icontains=search) | Q(name__icontains=search)
                                   | Q(beneficial_owner__icontains=search))
    if kyc == KYC_EXPIRED:
        accounts = accounts.filter(kyc_review_due__lt=today)
    elif kyc == KYC_DUE:
        accounts = accounts.filter(kyc_review_due__gte=today, kyc_review_due__lte=today + KYC_DUE_SOON)
    elif kyc == KYC_NONE:
        accounts = accounts.filter(kyc_review_due__isnull=True)
    return accounts


def counterparty_search(*, is_ccp: bool | None = None, search: str | None = None) -> QuerySet[Counterparty]:
    """Return counterparties by code, with how many members clear through each CCP."""
    counterparties = counterparty_list().annotate(member_count=Count("clearing_members"))
    if is_ccp is not None:
        counterparties = counterparties.filter(is_ccp=is_ccp)
    if search:
        counterparties = counterparties.filter(
            Q(code__icontains=search) | Q(name__icontains=search) | Q(lei__icontains=search))
    return counterparties


def instrument_key(prefix: str, key: str) -> Q:
    """Match an instrument by ISIN or by symbol, case-insensitively."""
    return Q(**{f"{prefix}isin__iexact": key}) | Q(**{f"{prefix}symbol__iexact": key})


def price_search(*, instrument: str | None = None, date_from: date | None = None,
                 date_to: date | None = None) -> QuerySet[Price]:
    """Return prices, newest date first; instrument is an ISIN or a symbol."""
    prices = Price.objects.select_related("instrument").order_by("-price_date", "instrument__isin", "source")
    if instrument:
        prices = prices.filter(instrument_key("instrument__", instrument))
    if date_from:
        prices = prices.filter(price_date__gte=date_from)
    if date_to:
        prices = prices.filter(price_date__lte=date_to)
    return prices


def price_latest_date(*, as_of: date) -> date | None:
    """Return the newest price date on or before as_of (the last pricing run), None if nothing is priced."""
    return Price.objects.filter(price_date__lte=as_of).aggregate(latest=Max("price_date"))["latest"]


# --- business keys, as a clerk types them ---

def account_find(code: str) -> Account | None:
    """Return the account with this code, matched exactly or else case-insensitively."""
    return Account.objects.filter(code=code).first() or Account.objects.filter(code__iexact=code).first()


def counterparty_find(code: str) -> Counterparty | None:
    """Return the counterparty with this code, matched exactly or else case-insensitively."""
    return (Counterparty.objects.filter(code=code).first()
            or Counterparty.objects.filter(code__iexact=code).first())


def instruments_find(key: str) -> list[Instrument]:
    """Return the instruments whose ISIN or symbol is key (case-insensitive); a symbol may be listed twice."""
    return list(Instrument.objects.filter(instrument_key("", key)).order_by("isin"))
