"""Writes to reference data: instruments, accounts, counterparties, prices, FX rates.

Every function is atomic and leaves an audit record in the same transaction. Business-key
clashes raise ConflictError (409), invalid values BusinessRuleError (400).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from records.audit.services.audit import Actor, AuditEntry, audit_log, audit_log_bulk, record_type_of, snapshot
from records.reference.models import Account, Counterparty, FxRate, Instrument, Market, Price


def _full_clean(instance: models.Model, *, exclude: Iterable[str] = ()) -> None:
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise BusinessRuleError(messages[0], field=None if field == "__all__" else field) from exc


def _create(instance: models.Model, *, actor: Actor, key_field: str, label: str, reason: str = ""):
    _full_clean(instance)
    key = getattr(instance, key_field)
    if type(instance).objects.filter(**{key_field: key}).exists():
        raise ConflictError(f"{label} with {key_field} {key!r} already exists.")
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError as exc:
        # A concurrent request created the same business key after our check.
        raise ConflictError(f"{label} with {key_field} {key!r} already exists.") from exc
    audit_log(actor=actor, action="CREATE", instance=instance, after=snapshot(instance), reason=reason)
    return instance


def _update(instance: models.Model, *, actor: Actor, changes: dict, immutable: Iterable[str], reason: str = ""):
    locked = type(instance).objects.select_for_update().get(pk=instance.pk)
    before = snapshot(locked)
    for name in immutable:
        if name in changes and changes[name] != getattr(locked, name):
            raise BusinessRuleError("Cannot be changed once created.", field=name)
    for name, value in changes.items():
        setattr(locked, name, value)
    _full_clean(locked)
    after = snapshot(locked)
    if after == before:
        return locked
    locked.save()
    audit_log(actor=actor, action="UPDATE", instance=locked, before=before, after=after, reason=reason)
    return locked


def market_get(mic: str) -> Market:
    try:
        return Market.objects.get(mic=mic)
    except Market.DoesNotExist:
        raise BusinessRuleError(f"Unknown market MIC {mic!r}.", field="market") from None


@transaction.atomic
def instrument_create(*, actor: Actor, isin: str, symbol: str, name: str, asset_class: str, currency: str,
                      market: str | Market, settlement_cycle: int | None = None, reason: str = "") -> Instrument:
    """Create an instrument. Its settlement cycle is derived when not given."""
    market_obj = market if isinstance(market, Market) else market_get(market)
    instrument = Instrument(isin=isin, symbol=symbol, name=name, asset_class=asset_class, currency=currency,
                            market=market_obj, settlement_cycle=settlement_cycle)
    return _create(instrument, actor=actor, key_field="isin", label="Instrument", reason=reason)


@transaction.atomic
def instrument_update(*, actor: Actor, instrument: Instrument, changes: dict, reason: str = "") -> Instrument:
    """Change an instrument's descriptive fields; its ISIN never changes."""
    if isinstance(changes.get("market"), str):
        changes = {**changes, "market": market_get(changes["market"])}
    return _update(instrument, actor=actor, changes=changes, immutable=("isin",), reason=reason)


@transaction.atomic
def account_create(*, actor: Actor, code: str, name: str, kind: str, base_currency: str,
                   status: str = Account.Status.ACTIVE, cost_method: str = Account.CostMethod.FIFO,
                   allow_partial_settlement: bool = True, credit_limit: Decimal = Decimal("0"),
                   kyc_review_due: date | None = None, beneficial_owner: str = "", reason: str = "") -> Account:
    account = Account(code=code, name=name, kind=kind, base_currency=base_currency, status=status,
                      cost_method=cost_method, allow_partial_settlement=allow_partial_settlement,
                      credit_limit=credit_limit, kyc_review_due=kyc_review_due, beneficial_owner=beneficial_owner)
    if credit_limit < 0:
        raise BusinessRuleError("Must not be negative.", field="credit_limit")
    return _create(account, actor=actor, key_field="code", label="Account", reason=reason)


@transaction.atomic
def account_update(*, actor: Actor, account: Account, changes: dict, reason: str = "") -> Account:
    if changes.get("credit_limit") is not None and changes["credit_limit"] < 0:
        raise BusinessRuleError("Must not be negative.", field="credit_limit")
    return _update(account, actor=actor, changes=changes, immutable=("code",), reason=reason)


def _ccp_get(code: str | None) -> Counterparty | None:
    if code is None:
        return None
    ccp = Counterparty.objects.filter(code=code).first()
    if ccp is None:
        raise BusinessRuleError(f"Unknown counterparty {code!r}.", field="clears_through")
    if not ccp.is_ccp:
        raise BusinessRuleError(f"Counterparty {code!r} is not a CCP.", field="clears_through")
    return ccp


@transaction.atomic
def counterparty_create(*, actor: Actor, code: str, name: str, lei: str, is_ccp: bool = False,
                        clears_through: str | Counterparty | None = None, requires_matching: bool = True,
                        reason: str = "") -> Counterparty:
    ccp = clears_through if isinstance(clears_through, Counterparty) or clears_through is None \
        else _ccp_get(clears_through)
    if is_ccp and ccp is not None:
        raise BusinessRuleError("A CCP does not clear through another CCP.", field="clears_through")
    if Counterparty.objects.filter(lei=lei).exclude(code=code).exists():
        raise ConflictError(f"Another counterparty already has LEI {lei!r}.")
    counterparty = Counterparty(code=code, name=name, lei=lei, is_ccp=is_ccp, clears_through=ccp,
                                requires_matching=requires_matching)
    return _create(counterparty, actor=actor, key_field="code", label="Counterparty", reason=reason)


@transaction.atomic
def counterparty_update(*, actor: Actor, counterparty: Counterparty, changes: dict, reason: str = "") -> Counterparty:
    if "clears_through" in changes and not isinstance(changes["clears_through"], Counterparty | None):
        changes = {**changes, "clears_through": _ccp_get(changes["clears_through"])}
    is_ccp = changes.get("is_ccp", counterparty.is_ccp)
    ccp = changes.get("clears_through", counterparty.clears_through)
    if is_ccp and ccp is not None:
        raise BusinessRuleError("A CCP does not clear through another CCP.", field="clears_through")
    if ccp is not None and ccp.pk == counterparty.pk:
        raise BusinessRuleError("A counterparty cannot clear through itself.", field="clears_through")
    if not is_ccp and counterparty.is_ccp and counterparty.clearing_members.exists():
        raise BusinessRuleError("Counterparties still clear through this CCP.", field="is_ccp")
    lei = changes.get("lei")
    if lei and Counterparty.objects.filter(lei=lei).exclude(pk=counterparty.pk).exists():
        raise ConflictError(f"Another counterparty already has LEI {lei!r}.")
    return _update(counterparty, actor=actor, changes=changes, immutable=("code",), reason=reason)


@dataclass(frozen=True)
class PriceInput:
    instrument: Instrument
    price_date: date
    price: Decimal
    currency: str
    source: str = "DEFAULT"


@dataclass(frozen=True)
class UpsertResult:
    created: list
    updated: list


@transaction.atomic
def price_upsert(*, actor: Actor, prices: list[PriceInput], reason: str = "") -> UpsertResult:
    """Insert or update prices per (instrument, price_date, source), all or nothing, set-based."""
    seen = set()
    for index, item in enumerate(prices):
        key = (item.instrument.pk, item.price_date, item.source)
        if key in seen:
            raise BusinessRuleError(f"Item {index} repeats instrument, price_date and source.")
        seen.add(key)
        if item.price <= 0:
            raise BusinessRuleError("Must be greater than zero.", field="price")
        if item.currency != item.instrument.currency:
            raise BusinessRuleError(
                f"Instrument {item.instrument.isin} is priced in {item.instrument.currency}, not {item.currency}.",
                field="currency")
    if not prices:
        return UpsertResult(created=[], updated=[])
    existing = _existing_prices(prices)
    now = timezone.now()
    to_create, unchanged, changed, update_entries = [], [], [], []
    for item in prices:
        row = existing.get((item.instrument.pk, item.price_date, item.source))
        if row is None:
            to_create.append(Price(instrument=item.instrument, price_date=item.price_date, price=item.price,
                                   currency=item.currency, source=item.source))
        elif row.price == item.price:
            unchanged.append(row)  # reported, not rewritten
        else:
            before = snapshot(row)
            row.price, row.updated_at = item.price, now
            changed.append(row)
            update_entries.append(AuditEntry(record_type_of(Price), str(row.pk), before, snapshot(row)))
    # Both backends return the new ids from a bulk insert (RETURNING).
    Price.objects.bulk_create(to_create, batch_size=1000)
    Price.objects.bulk_update(changed, ["price", "updated_at"], batch_size=1000)
    audit_log_bulk(actor=actor, action="CREATE", reason=reason,
                   entries=[AuditEntry(record_type_of(Price), str(p.pk), None, snapshot(p)) for p in to_create])
    audit_log_bulk(actor=actor, action="UPDATE", entries=update_entries, reason=reason)
    return UpsertResult(created=to_create, updated=changed + unchanged)


def _existing_prices(prices: list[PriceInput]) -> dict:
    instrument_ids = {p.instrument.pk for p in prices}
    dates = {p.price_date for p in prices}
    wanted = {(p.instrument.pk, p.price_date, p.source) for p in prices}
    rows = Price.objects.filter(instrument_id__in=instrument_ids, price_date__in=dates).select_related("instrument")
    return {k: r for r in rows if (k := (r.instrument_id, r.price_date, r.source)) in wanted}


@transaction.atomic
def fx_rate_upsert(*, actor: Actor, base_currency: str, quote_currency: str, rate_date: date, rate: Decimal,
                   source: str = "DEFAULT", reason: str = "") -> FxRate:
    """Insert or replace the rate for (base, quote, date, source)."""
    if rate <= 0:
        raise BusinessRuleError("Must be greater than zero.", field="rate")
    if base_currency == quote_currency:
        raise BusinessRuleError("Base and quote currencies must differ.", field="quote_currency")
    existing = FxRate.objects.select_for_update().filter(
        base_currency=base_currency, quote_currency=quote_currency, rate_date=rate_date, source=source).first()
    if existing is None:
        fx = FxRate(base_currency=base_currency, quote_currency=quote_currency, rate_date=rate_date, rate=rate,
                    source=source)
        _full_clean(fx)
        fx.save()
        audit_log(actor=actor, action="CREATE", instance=fx, after=snapshot(fx), reason=reason)
        return fx
    if existing.rate != rate:
        before = snapshot(existing)
        existing.rate = rate
        existing.save(update_fields=["rate"])
        audit_log(actor=actor, action="UPDATE", instance=existing, before=before, after=snapshot(existing),
                  reason=reason)
    return existing
