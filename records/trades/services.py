"""Trade capture: submit (single and bulk, idempotent), amend, cancel, release, reject.

Every path is set-based: a batch of N trades costs a handful of queries (look up all
accounts, counterparties, instruments and earlier submissions at once, then one bulk insert
per table), whether N is 1 or 10,000. Positions move in the same transaction.
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from json.encoder import encode_basestring as _json_str
from operator import itemgetter
from typing import NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from backoffice.core.bulk import (
    COPY_THRESHOLD,
    RowLoader,
    allocate_ids,
    batch_value,
    in_list,
    insert_many,
    pipelined,
    select_all,
    sequence_sql,
)
from backoffice.core.canonical import canonical_json
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import format_decimal
from records.audit.models import AuditRecord
from records.audit.services.audit import (
    AUDIT_COLUMNS,
    Actor,
    AuditEntry,
    CanonicalJSON,
    actor_fields,
    audit_log,
    audit_rows,
    record_type_of,
    snapshot,
)
from records.positions.services import PositionDelta, positions_apply, trade_booking_delta
from records.reference.models import Account, Counterparty, Instrument, Market
from records.reference.services.calendar import (
    is_settlement_day,
    is_trading_session,
    market_today,
    settlement_date_for,
)
from records.trades import hooks
from records.trades.hooks import trade_hooks_run
from records.trades.models import Trade, TradeEvent, TradeVersion
from records.trades.pretrade import TradeCandidate, run_pretrade_checks

CREATED = "created"
DUPLICATE = "duplicate"
REJECTED = "rejected"
CONFLICT = "conflict"

_TRADE = record_type_of(Trade)


@dataclass(frozen=True)
class TradeInput:
    """A trade as a front-office system submits it, already parsed into Python types."""

    external_ref: str
    account: str
    counterparty: str
    instrument: str
    side: str
    quantity: Decimal
    price: Decimal
    trade_date: date
    currency: str | None = None
    settlement_date: date | None = None
    commission: Decimal = Decimal(0)

    @cached_property
    def canonical_decimals(self) -> tuple[str, str, str]:
        """Quantity, price and commission as format_decimal writes them (the request hash and the trade row)."""
        return format_decimal(self.quantity), format_decimal(self.price), format_decimal(self.commission)

    def request_hash(self) -> str:
        """Hash the submission in canonical form (decimals normalised, absent = null)."""
        quantity, price, commission = self.canonical_decimals
        parts = [self.external_ref, self.account, self.counterparty, self.instrument, self.side,
                 quantity, price, self.trade_date.isoformat(),
                 self.currency or "", self.settlement_date.isoformat() if self.settlement_date else "",
                 commission]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass
class SubmitResult:
    index: int
    status: str
    existing: Trade | None = None
    errors: dict = field(default_factory=dict)
    booked: "_LazyTrade | None" = None

    @property
    def trade_id(self) -> int | None:
        source = self.booked or self.existing
        return source.pk if source is not None else None

    @property
    def trade(self) -> Trade | None:
        """The trade (built in memory for one just booked): for single submissions, not for batches."""
        return self.booked.instance() if self.booked is not None else self.existing


@dataclass
class _Resolved:
    index: int
    item: TradeInput
    request_hash: str
    account: Account
    counterparty: Counterparty
    instrument: Instrument
    currency: str
    settlement_date: date


def trade_submit(*, submitted_by, item: TradeInput) -> SubmitResult:
    """Submit one trade. Idempotent by (submitter, external_ref); see trade_submit_batch."""
    return trade_submit_batch(submitted_by=submitted_by, items=[(0, item)])[0]


def trade_submit_batch(*, submitted_by, items: Sequence[tuple[int, TradeInput]]) -> dict[int, SubmitResult]:
    """Book a batch of trades; return a result per index: created, duplicate, rejected or conflict.

    Valid items are booked even when others are rejected; each booked trade is complete (trade,
    lifecycle event, audit record, position) or absent. An external_ref the submitter used before
    answers "duplicate" with the existing trade when the body is the same, "conflict" otherwise.
    If a concurrent request books one of our refs first, the batch is retried and that item
    becomes a duplicate or a conflict.
    """
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _submit_batch_once(submitted_by, items)
        except IntegrityError:
            # Only the unique (submitter, external_ref) constraint can race; a retry sees the winner.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _submit_batch_once(submitted_by, items: Sequence[tuple[int, TradeInput]]) -> dict[int, SubmitResult]:
    results: dict[int, SubmitResult] = {}
    hashes = {index: item.request_hash() for index, item in items}

    # 1. One round trip: earlier submissions of the same refs by this submitter, the accounts,
    # counterparties and instruments named, and (small batches) the ids the trades will take.
    refs = {item.external_ref for _, item in items}
    lookup = _lookup(submitted_by, refs, {i.account for _, i in items}, {i.counterparty for _, i in items},
                     {i.instrument for _, i in items}, prefetch_ids=len(items) if len(items) < COPY_THRESHOLD else 0)
    existing = lookup.earlier
    first_in_batch: dict[str, int] = {}
    fresh: list[tuple[int, TradeInput]] = []
    for index, item in items:
        earlier = existing.get(item.external_ref)
        if earlier is not None:
            results[index] = (SubmitResult(index, DUPLICATE, existing=earlier) if earlier.request_hash == hashes[index]
                              else _conflict(index, item))
        elif item.external_ref in first_in_batch:
            first = first_in_batch[item.external_ref]
            results[index] = SubmitResult(index, DUPLICATE) if hashes[first] == hashes[index] \
                else _conflict(index, item)
        else:
            first_in_batch[item.external_ref] = index
            fresh.append((index, item))

    # 2. Validate against reference data.
    accounts, counterparties, instruments = lookup.accounts, lookup.counterparties, lookup.instruments
    resolved: list[_Resolved] = []
    dates = TradeDates()
    for index, item in fresh:
        errors: dict[str, list[str]] = {}
        account = accounts.get(item.account)
        counterparty = counterparties.get(item.counterparty)
        instrument = instruments.get(item.instrument)
        settlement_date = dates.validate(
            errors, account=item.account, account_known=account is not None, counterparty=item.counterparty,
            counterparty_known=counterparty is not None, isin=item.instrument, instrument=instrument,
            trade_date=item.trade_date, settlement_date=item.settlement_date)
        if errors:
            results[index] = SubmitResult(index, REJECTED, errors=errors)
            continue
        # The currency asked for, else the instrument's (compliance.pretrade.CurrencyCheck refuses a mismatch).
        resolved.append(_Resolved(index, item, hashes[index], account, counterparty, instrument,
                                  item.currency or instrument.currency, settlement_date))

    # 3. Pre-trade checks over the whole batch.
    checks = run_pretrade_checks([
        TradeCandidate(index=r.index, account=r.account, counterparty=r.counterparty, instrument=r.instrument,
                       side=r.item.side, quantity=r.item.quantity, price=r.item.price, currency=r.currency,
                       trade_date=r.item.trade_date, settlement_date=r.settlement_date,
                       commission=r.item.commission, external_ref=r.item.external_ref)
        for r in resolved
    ])
    to_book: list[_Resolved] = []
    for r in resolved:
        rejections = checks.rejections(r.index)
        if rejections:
            results[r.index] = SubmitResult(r.index, REJECTED, errors={"compliance": [o.reason for o in rejections]})
        else:
            to_book.append(r)

    # 4. Book: one bulk insert per table, positions in one upsert per chunk.
    trades = _book(submitted_by, to_book, checks, lookup.ids)
    trade_hooks_run(trade_ids=[trade.pk for trade in trades], event=hooks.BOOKED, actor=submitted_by)
    for r, trade in zip(to_book, trades, strict=True):
        results[r.index] = SubmitResult(r.index, CREATED, booked=trade)
    item_by_index = dict(items)
    for index, result in results.items():
        if result.status == DUPLICATE and result.trade_id is None:
            # A repeat inside the batch: the trade its first occurrence created.
            first = results[first_in_batch[item_by_index[index].external_ref]]
            results[index] = SubmitResult(index, DUPLICATE if first.status == CREATED else first.status,
                                          existing=first.existing, booked=first.booked, errors=first.errors)
    return results


class TradeDates:
    """A trade's references and dates checked (its dates against its instrument's market calendars, each
    distinct key worked out once per batch): the bulk service and the trade files' SQL booking (booking_sql)
    give the same verdicts in the same words."""

    def __init__(self):
        self._today: dict = {}
        self._session: dict = {}
        self._settles: dict = {}
        self._settlement_day: dict = {}

    def validate(self, errors: dict[str, list[str]], *, account: str, account_known: bool, counterparty: str,
                 counterparty_known: bool, isin: str, instrument: Instrument | None, trade_date: date,
                 settlement_date: date | None) -> date | None:
        """A trade's references (account, counterparty, instrument found and active) and then its dates; the
        errors go into `errors`. Returns the settlement date (the one given, else the instrument's regular way)."""
        if not account_known:
            errors["account"] = [f"Unknown account {account!r}."]
        if not counterparty_known:
            errors["counterparty"] = [f"Unknown counterparty {counterparty!r}."]
        if instrument is None:
            errors["instrument"] = [f"Unknown instrument {isin!r}."]
        elif not instrument.is_active:
            errors["instrument"] = [f"Instrument {instrument.isin} is not active."]
        else:
            return self.check(instrument, trade_date, settlement_date, errors)
        return settlement_date

    def check(self, instrument: Instrument, trade_date: date, settlement_date: date | None,
              errors: dict[str, list[str]]) -> date | None:
        """The settlement date (the one given, else the instrument's regular way); errors under trade_date or
        settlement_date are added to `errors`."""
        market, mic = instrument.market, instrument.market_id
        if mic not in self._today:
            self._today[mic] = market_today(market=market)
        if (mic, trade_date) not in self._session:
            self._session[mic, trade_date] = is_trading_session(market=market, day=trade_date)
        if trade_date > self._today[mic]:
            errors["trade_date"] = ["Trade date is in the future."]
        elif not self._session[mic, trade_date]:
            errors["trade_date"] = [f"{trade_date} is not a trading session of {mic}."]
        elif settlement_date is None:
            key = (mic, instrument.asset_class, instrument.settlement_cycle, trade_date)
            if key not in self._settles:
                self._settles[key] = settlement_date_for(instrument=instrument, trade_date=trade_date).settlement_date
            return self._settles[key]
        elif settlement_date < trade_date:
            errors["settlement_date"] = ["Settlement date is before the trade date."]
        else:
            if (mic, settlement_date) not in self._settlement_day:
                self._settlement_day[mic, settlement_date] = is_settlement_day(market=market, day=settlement_date)
            if not self._settlement_day[mic, settlement_date]:
                errors["settlement_date"] = [f"{settlement_date} is not a settlement day of "
                                             f"{market.get_settlement_calendar_display()}."]
        return settlement_date


_EARLIER = RowLoader(Trade, fields=("id", "external_ref", "request_hash"))
_ACCOUNT = RowLoader(Account)
_COUNTERPARTY = RowLoader(Counterparty)
_INSTRUMENT = RowLoader(Instrument)
_MARKET = RowLoader(Market)


@dataclass
class _Lookup:
    earlier: dict[str, Trade]
    accounts: dict[str, Account]
    counterparties: dict[str, Counterparty]
    instruments: dict[str, Instrument]
    ids: list[int]


def _lookup(submitted_by, refs, account_codes, counterparty_codes, isins, *, prefetch_ids: int) -> _Lookup:
    """Read what a batch is validated against, in one round trip on PostgreSQL (see select_all).

    Earlier submissions come as Trade instances holding only id, external_ref and request_hash;
    instruments with their market. With prefetch_ids, also reserves that many trade ids (a
    rejected or duplicate item leaves a gap in the sequence, as a rolled-back insert would).
    """
    q = connection.ops.quote_name
    ref_in, ref_params = in_list("t." + q("external_ref"), sorted(refs))
    account_in, account_params = in_list("a." + q("code"), sorted(account_codes))
    cp_in, cp_params = in_list("c." + q("code"), sorted(counterparty_codes))
    isin_in, isin_params = in_list("i." + q("isin"), sorted(isins))
    market = Instrument._meta.get_field("market")
    submitter_pk = getattr(submitted_by, "pk", None)
    submitter = (f"t.{q('submitted_by_id')} = %s", [submitter_pk]) if submitter_pk is not None \
        else (f"t.{q('submitted_by_id')} IS NULL", [])
    queries = [
        (f"SELECT {_EARLIER.columns('t')} FROM {q(Trade._meta.db_table)} t "  # noqa: S608 - names from meta
         f"WHERE {submitter[0]} AND {ref_in}", [*submitter[1], *ref_params]),
        (f"SELECT {_ACCOUNT.columns('a')} FROM {q(Account._meta.db_table)} a WHERE {account_in}",  # noqa: S608
         account_params),
        (f"SELECT {_COUNTERPARTY.columns('c')} FROM {q(Counterparty._meta.db_table)} c WHERE {cp_in}",  # noqa: S608
         cp_params),
        (f"SELECT {_INSTRUMENT.columns('i')}, {_MARKET.columns('m')} FROM {q(Instrument._meta.db_table)} i "  # noqa: S608
         f"JOIN {q(Market._meta.db_table)} m ON m.{q(market.target_field.column)} = i.{q(market.column)} "
         f"WHERE {isin_in}", isin_params),
    ]
    if prefetch_ids:
        queries.append(sequence_sql(Trade, prefetch_ids))
    rows = select_all(queries)
    instruments = {}
    for row in rows[3]:
        instrument = _INSTRUMENT.load(row)
        instrument.market = _MARKET.load(row, _INSTRUMENT.width)
        instruments[instrument.isin] = instrument
    return _Lookup(
        earlier={t.external_ref: t for t in map(_EARLIER.load, rows[0])},
        accounts={a.code: a for a in map(_ACCOUNT.load, rows[1])},
        counterparties={c.code: c for c in map(_COUNTERPARTY.load, rows[2])},
        instruments=instruments,
        ids=[row[0] for row in rows[4]] if len(rows) > 4 else [],
    )


def _conflict(index: int, item: TradeInput) -> SubmitResult:
    return SubmitResult(index, CONFLICT, errors={
        "external_ref": [f"external_ref {item.external_ref!r} was already used for a different trade."]})


class TradeRow(NamedTuple):
    """A records_trade row as bulk booking writes it: one field per column, in Trade's field order.

    The one declaration of a booked trade's values: the insert's columns, the audit record's
    `after` (_trade_audit_json) and the in-memory Trade (_LazyTrade) all derive from it and from
    Trade's fields, and tests hold it to Trade's concrete fields and to audit.snapshot(trade).
    Values are ready for the database and canonical at once: decimals as format_decimal text,
    dates and times as ISO text (batch_value), hold_reasons as canonical JSON text.
    """

    id: int
    external_ref: str
    submitted_by_id: int
    account_id: int
    counterparty_id: int
    instrument_id: int
    side: str
    quantity: str
    price: str
    currency: str
    trade_date: str
    settlement_date: str
    commission: str
    status: str
    match_status: str
    version: int
    settled_quantity: str
    request_hash: str
    hold_reasons: str
    created_at: str
    updated_at: str


_TRADE_COLUMNS = TradeRow._fields
_TRADE_FIELDS = tuple({f.column: f for f in Trade._meta.concrete_fields}[column] for column in _TRADE_COLUMNS)
# What audit.snapshot leaves out of a record's before and after.
_NOT_AUDITED = ("created_at", "updated_at")


def _audit_json_plan(fields: Sequence[models.Field]) -> tuple[str, Callable, tuple[tuple[int, Callable], ...]]:
    """How a row becomes its audit `after`, what snapshot() and the canonical serializer make of the
    model's values: a %-template with the keys in sorted order, a getter of the row's values in that
    order, and the (place, conversion) of those whose text needs one."""
    parts, positions, conversions = [], [], []
    for position, f in sorted(enumerate(fields), key=lambda pair: pair[1].attname):
        if f.name in _NOT_AUDITED:
            continue
        kind = f.get_internal_type()
        convert = None
        if kind in ("AutoField", "BigAutoField", "ForeignKey", "IntegerField", "BigIntegerField",
                    "PositiveIntegerField", "PositiveBigIntegerField", "SmallIntegerField"):
            placeholder, convert = ("%s", _json_int_or_null) if f.null else ("%d", None)
        elif kind in ("CharField", "TextField"):
            placeholder, convert = "%s", _json_str
        elif kind in ("DecimalField", "DateField"):
            placeholder = '"%s"'  # canonical text already, nothing to escape
        elif kind == "JSONField":
            placeholder = "%s"  # canonical JSON text already
        else:
            raise ImproperlyConfigured(f"TradeRow: no audit form for {f.name} ({kind}).")
        if convert is not None:
            conversions.append((len(parts), convert))
        parts.append(f"{_json_str(f.attname)}:{placeholder}")
        positions.append(position)
    return "{" + ",".join(parts) + "}", itemgetter(*positions), tuple(conversions)


def _json_int_or_null(value: int | None) -> str:
    return "null" if value is None else f"{value:d}"


_AUDIT_TEMPLATE, _AUDIT_VALUES, _AUDIT_CONVERSIONS = _audit_json_plan(_TRADE_FIELDS)


def _trade_audit_json(row: TradeRow) -> CanonicalJSON:
    """The audit `after` of a booked trade, serialized canonically (see audit.hash_fields) straight from its
    row: the canonical serializer's output for snapshot(trade), byte for byte, without a dict per trade."""
    values = list(_AUDIT_VALUES(row))
    for place, convert in _AUDIT_CONVERSIONS:
        values[place] = convert(values[place])
    return CanonicalJSON(_AUDIT_TEMPLATE % tuple(values))


def _python_value(f: models.Field) -> Callable:
    """The value of a field as a model instance holds it, from the row's text (as a read would give it)."""
    if f.get_internal_type() == "JSONField":
        return json.loads
    return f.to_python


_TRADE_PYTHON = tuple((f.attname, _python_value(f)) for f in _TRADE_FIELDS)


_EVENT_COLUMNS = ("trade_id", "at", "actor_id", "actor_label", "action", "from_status", "to_status", "reason")


def _book(submitted_by, to_book: list[_Resolved], checks, ids: list[int]) -> list[Trade]:
    """Insert the trades, their BOOK/HOLD events, audit records and position moves, set-based.

    Rows are written without model instances (COPY on PostgreSQL); the Trade objects returned
    are built in memory from the same values.
    """
    if not to_book:
        return []
    now = timezone.now()
    user, label = actor_fields(submitted_by)
    user_id = user.pk if user is not None else None
    trade_ids = ids[:len(to_book)] if len(ids) >= len(to_book) else allocate_ids(Trade, len(to_book))
    trade_rows, event_rows, audit_entries, trades = [], [], [], []
    deltas: dict[tuple[int, int], PositionDelta] = {}
    booked, held = Trade.Status.BOOKED, Trade.Status.HELD
    unmatched, new = Trade.MatchStatus.UNMATCHED, Trade.Status.NEW
    book_action, hold_action = TradeEvent.Action.BOOK, TradeEvent.Action.HOLD
    stamp = batch_value(now)
    for r, trade_id in zip(to_book, trade_ids, strict=True):
        item = r.item
        hold_reasons = [o.reason for o in checks.holds(r.index)]
        status = held if hold_reasons else booked
        account_id, instrument_id = r.account.pk, r.instrument.pk
        quantity, price, commission = item.canonical_decimals
        row = TradeRow(
            id=trade_id, external_ref=item.external_ref, submitted_by_id=user_id, account_id=account_id,
            counterparty_id=r.counterparty.pk, instrument_id=instrument_id, side=item.side, quantity=quantity,
            price=price, currency=r.currency, trade_date=item.trade_date.isoformat(),
            settlement_date=r.settlement_date.isoformat(), commission=commission, status=status,
            match_status=unmatched, version=1, settled_quantity="0", request_hash=r.request_hash,
            hold_reasons=canonical_json(hold_reasons) if hold_reasons else "[]", created_at=stamp, updated_at=stamp)
        trade_rows.append(row)
        event_rows.append((trade_id, stamp, user_id, label, hold_action if hold_reasons else book_action,
                           new, status, "; ".join(hold_reasons)))
        audit_entries.append(AuditEntry(_TRADE, trade_id, None, _trade_audit_json(row)))
        if status == booked:
            key = (account_id, instrument_id)
            delta = deltas.get(key)
            if delta is None:
                delta = deltas[key] = PositionDelta()
            delta.add_booking(item.side, item.quantity)
        trades.append(_LazyTrade(row, r))
    # Small batches: the inserts go out without waiting, answered with the position upsert's rows.
    with pipelined(len(trade_rows) < COPY_THRESHOLD):
        insert_many([(Trade, _TRADE_COLUMNS, trade_rows), (TradeEvent, _EVENT_COLUMNS, event_rows),
                     (AuditRecord, AUDIT_COLUMNS, audit_rows(actor=submitted_by, action="CREATE",
                                                             entries=audit_entries))])
        positions_apply(deltas, actor=submitted_by)
    return trades


class _LazyTrade:
    """A booked trade's row; the Trade instance is built only if someone asks for it."""

    __slots__ = ("_resolved", "_row", "_trade", "pk")

    def __init__(self, row: TradeRow, resolved: _Resolved):
        self._row, self._resolved = row, resolved
        self.pk = row.id
        self._trade = None

    def instance(self) -> Trade:
        """The trade as a read of its row would give it, with its account, counterparty and instrument."""
        if self._trade is None:
            trade = Trade(**{name: python(value) for (name, python), value in zip(_TRADE_PYTHON, self._row,
                                                                                   strict=True)})
            trade.account, trade.counterparty = self._resolved.account, self._resolved.counterparty
            trade.instrument = self._resolved.instrument
            trade._state.adding = False
            self._trade = trade
        return self._trade


def _trade_queryset():
    return Trade.objects.select_related("account", "counterparty", "instrument", "submitted_by")


def _lock_trade(trade_id: int) -> Trade:
    trade = _trade_queryset().select_for_update(of=("self",)).filter(pk=trade_id).first()
    if trade is None:
        raise BusinessRuleError("Trade not found.", field="trade")
    return trade


def _event(trade: Trade, *, actor: Actor, action: str, from_status: str, reason: str) -> None:
    user, label = actor_fields(actor)
    TradeEvent.objects.create(trade=trade, at=timezone.now(), actor=user, actor_label=label, action=action,
                              from_status=from_status, to_status=trade.status, reason=reason)


def _position_effect(trade: Trade, *, actor: Actor, sign: int, reason: str) -> None:
    positions_apply({(trade.account_id, trade.instrument_id):
                     trade_booking_delta(side=trade.side, quantity=trade.quantity, sign=sign)},
                    actor=actor, reason=f"trade {trade.pk}: {reason}" if reason else f"trade {trade.pk}")


def _require_amendable(trade: Trade, verb: str) -> None:
    if trade.status not in Trade.AMENDABLE_STATUSES:
        raise ConflictError(f"Trade {trade.pk} is {trade.status}: it can no longer be {verb}.")


@transaction.atomic
def trade_cancel(*, actor: Actor, trade_id: int, reason: str) -> Trade:
    """Cancel a booked or held trade and reverse its position. A no-op if already cancelled."""
    trade = _lock_trade(trade_id)
    if trade.status == Trade.Status.CANCELLED:
        return trade
    _require_amendable(trade, "cancelled")
    if not reason.strip():
        raise BusinessRuleError("A reason is required.", field="reason")
    before = snapshot(trade)
    from_status = trade.status
    # The trade row first, then the position: every writer of trades locks in that order (the booked buys the
    # trade's triggers keep, then the position), so two of them never wait for each other crosswise.
    trade.status = Trade.Status.CANCELLED
    trade.save(update_fields=["status", "updated_at"])
    if from_status == Trade.Status.BOOKED:
        _position_effect(trade, actor=actor, sign=-1, reason=reason)
    _event(trade, actor=actor, action=TradeEvent.Action.CANCEL, from_status=from_status, reason=reason)
    audit_log(actor=actor, action="TRANSITION", instance=trade, before=before, after=snapshot(trade), reason=reason)
    trade_hooks_run(trade_ids=[trade.pk], event=hooks.CANCELLED, actor=actor)
    return trade


@transaction.atomic
def trade_amend(*, actor: Actor, trade_id: int, changes: dict, reason: str) -> Trade:
    """Amend quantity, price, settlement date or commission, keeping the old version.

    Runs the pre-trade checks on the amended trade: a rejection refuses the amendment, a hold
    moves the trade to HELD (out of the position until released).
    """
    trade = _lock_trade(trade_id)
    _require_amendable(trade, "amended")
    if not reason.strip():
        raise BusinessRuleError("A reason is required.", field="reason")
    unknown = set(changes) - set(Trade.AMENDABLE_FIELDS)
    if unknown:
        raise BusinessRuleError(f"Cannot amend {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    changes = {k: v for k, v in changes.items() if getattr(trade, k) != v}
    if not changes:
        raise BusinessRuleError("The amendment changes nothing.")
    settlement_date = changes.get("settlement_date", trade.settlement_date)
    if settlement_date < trade.trade_date:
        raise BusinessRuleError("Settlement date is before the trade date.", field="settlement_date")
    if not is_settlement_day(market=trade.instrument.market, day=settlement_date):
        raise BusinessRuleError(f"{settlement_date} is not a settlement day.", field="settlement_date")

    candidate = TradeCandidate(
        index=0, account=trade.account, counterparty=trade.counterparty, instrument=trade.instrument,
        side=trade.side, quantity=changes.get("quantity", trade.quantity), price=changes.get("price", trade.price),
        currency=trade.currency, trade_date=trade.trade_date, settlement_date=settlement_date,
        commission=changes.get("commission", trade.commission), external_ref=trade.external_ref, trade_id=trade.pk)
    checks = run_pretrade_checks([candidate])
    if checks.rejections(0):
        raise BusinessRuleError(messages=[o.reason for o in checks.rejections(0)], field="compliance")

    before = snapshot(trade)
    from_status = trade.status
    user, _ = actor_fields(actor)
    TradeVersion.objects.create(
        trade=trade, version=trade.version, status=trade.status, superseded_at=timezone.now(), superseded_by=user,
        reason=reason, **{name: getattr(trade, name) for name in Trade.AMENDABLE_FIELDS})
    # One move of the position: out with the old terms (if they were in it), in with the new.
    delta = PositionDelta()
    if from_status == Trade.Status.BOOKED:
        delta.add(trade_booking_delta(side=trade.side, quantity=trade.quantity, sign=-1))
    for name, value in changes.items():
        setattr(trade, name, value)
    holds = checks.holds(0)
    if holds:
        trade.status = Trade.Status.HELD
        trade.hold_reasons = [o.reason for o in holds]
    if trade.status == Trade.Status.BOOKED:
        delta.add(trade_booking_delta(side=trade.side, quantity=trade.quantity))
    trade.version += 1
    trade.save()  # before the position: the lock order of every writer of trades (see trade_cancel)
    positions_apply({(trade.account_id, trade.instrument_id): delta}, actor=actor,
                    reason=f"trade {trade.pk}: {reason}")
    _event(trade, actor=actor, action=TradeEvent.Action.AMEND, from_status=from_status, reason=reason)
    audit_log(actor=actor, action="UPDATE", instance=trade, before=before, after=snapshot(trade), reason=reason)
    trade_hooks_run(trade_ids=[trade.pk], event=hooks.AMENDED, actor=actor)
    return trade


@transaction.atomic
def trade_release(*, actor: Actor, trade_id: int, reason: str) -> Trade:
    """Release a trade held by pre-trade checks: it becomes BOOKED and enters the position."""
    trade = _lock_trade(trade_id)
    if trade.status != Trade.Status.HELD:
        raise ConflictError(f"Trade {trade.pk} is {trade.status}, not HELD.")
    if not reason.strip():
        raise BusinessRuleError("A reason is required.", field="reason")
    before = snapshot(trade)
    trade.status = Trade.Status.BOOKED
    trade.save(update_fields=["status", "updated_at"])
    _position_effect(trade, actor=actor, sign=1, reason=reason)
    _event(trade, actor=actor, action=TradeEvent.Action.RELEASE, from_status=Trade.Status.HELD, reason=reason)
    audit_log(actor=actor, action="TRANSITION", instance=trade, before=before, after=snapshot(trade), reason=reason)
    trade_hooks_run(trade_ids=[trade.pk], event=hooks.RELEASED, actor=actor)
    return trade


@transaction.atomic
def trade_reject(*, actor: Actor, trade_id: int, reason: str) -> Trade:
    """Reject a trade held by pre-trade checks: it becomes REJECTED and never enters the position."""
    trade = _lock_trade(trade_id)
    if trade.status != Trade.Status.HELD:
        raise ConflictError(f"Trade {trade.pk} is {trade.status}, not HELD.")
    if not reason.strip():
        raise BusinessRuleError("A reason is required.", field="reason")
    before = snapshot(trade)
    trade.status = Trade.Status.REJECTED
    trade.save(update_fields=["status", "updated_at"])
    _event(trade, actor=actor, action=TradeEvent.Action.REJECT, from_status=Trade.Status.HELD, reason=reason)
    audit_log(actor=actor, action="TRANSITION", instance=trade, before=before, after=snapshot(trade), reason=reason)
    trade_hooks_run(trade_ids=[trade.pk], event=hooks.REJECTED, actor=actor)
    return trade
