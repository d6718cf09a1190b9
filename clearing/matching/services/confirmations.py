"""Receiving counterparties' confirmations: one or a batch, idempotent by (counterparty, counterparty_ref).

Set-based like trade capture (records.trades.services): a batch of N confirmations costs a handful of
statements whatever N is: one round trip reads what it is validated against (earlier confirmations
of the same references, accounts, counterparties, instruments, the trades named by trade_ref), one
statement inserts the confirmations with their audit records, then one matching pass
(clearing.matching.services.matching) matches them to our trades in the same transaction.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backoffice.core.bulk import COPY_THRESHOLD, RowLoader, allocate_ids, in_list, insert_many, select_all, sequence_sql
from backoffice.core.fields import format_decimal
from clearing.matching.services.matching import UNMATCHED, confirmations_match
from clearing.models import Confirmation
from records.audit.models import Actor, AuditRecord
from records.audit.services.audit import AUDIT_COLUMNS, AuditEntry, actor_fields, audit_rows, record_type_of, snapshot
from records.reference.models import Account, Counterparty, Instrument, Market
from records.reference.services.calendar import market_today
from records.trades.models import Trade

CREATED = "created"
DUPLICATE = "duplicate"
REJECTED = "rejected"
CONFLICT = "conflict"

_CONFIRMATION = record_type_of(Confirmation)


@dataclass(frozen=True)
class ConfirmationInput:
    """A confirmation as a counterparty sends it (their side), parsed into Python types."""

    counterparty: str
    counterparty_ref: str
    account: str
    instrument: str
    side: str
    quantity: Decimal
    price: Decimal
    trade_date: date
    settlement_date: date
    trade_ref: str = ""

    def request_hash(self) -> str:
        """Hash the terms in canonical form (decimals normalised; no trade_ref = empty)."""
        parts = [self.counterparty, self.counterparty_ref, self.account, self.instrument, self.side,
                 format_decimal(self.quantity), format_decimal(self.price), self.trade_date.isoformat(),
                 self.settlement_date.isoformat(), self.trade_ref or ""]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass
class ConfirmationResult:
    """The fate of one item: created, duplicate (of an earlier one, as it is now), rejected or conflict."""

    index: int
    status: str
    confirmation_id: int | None = None
    match_status: str | None = None
    trade_id: int | None = None
    errors: dict = field(default_factory=dict)


def confirmation_submit(*, submitted_by: Actor, item: ConfirmationInput,
                        source: str = Confirmation.Source.API) -> ConfirmationResult:
    """Receive one confirmation. Idempotent by (counterparty, counterparty_ref); see confirmation_submit_batch."""
    return confirmation_submit_batch(submitted_by=submitted_by, items=[(0, item)], source=source)[0]


def confirmation_submit_batch(*, submitted_by: Actor, items: Sequence[tuple[int, ConfirmationInput]],
                              source: str = Confirmation.Source.API) -> dict[int, ConfirmationResult]:
    """Receive a batch of confirmations and match them; return a result per index.

    Valid items are stored even when others are rejected (unknown counterparty, account, instrument or
    trade_ref; a trade date in the future; a settlement date before the trade date). A reference the
    counterparty used before answers "duplicate" with that confirmation when the terms are the same,
    "conflict" otherwise. If a concurrent request stores one of the same references first, the batch
    is retried and that item becomes a duplicate or a conflict.
    """
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _submit_once(submitted_by, items, source)
        except IntegrityError:
            # The unique (counterparty, counterparty_ref) constraint raced; a retry sees the winner.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


_EARLIER = RowLoader(Confirmation, fields=("id", "counterparty", "counterparty_ref", "request_hash",
                                           "match_status", "trade"))
_ACCOUNT = RowLoader(Account)
_COUNTERPARTY = RowLoader(Counterparty)
_INSTRUMENT = RowLoader(Instrument)
_MARKET = RowLoader(Market)


@dataclass
class _Lookup:
    earlier: dict[tuple[str, str], Confirmation]
    accounts: dict[str, Account]
    counterparties: dict[str, Counterparty]
    instruments: dict[str, Instrument]
    trade_refs: set[tuple[int, str]]  # (counterparty id, external_ref) of existing trades
    ids: list[int]


def _lookup(items: Sequence[tuple[int, ConfirmationInput]], *, prefetch_ids: int) -> _Lookup:
    """Read what a batch is validated against, in one round trip."""
    q = connection.ops.quote_name
    cp_codes = sorted({item.counterparty for _, item in items})
    refs = sorted({item.counterparty_ref for _, item in items})
    trade_refs = sorted({item.trade_ref for _, item in items if item.trade_ref})
    ref_in, ref_params = in_list("c." + q("counterparty_ref"), refs)
    cp_in, cp_params = in_list("cp." + q("code"), cp_codes)
    account_in, account_params = in_list("a." + q("code"), sorted({item.account for _, item in items}))
    isin_in, isin_params = in_list("i." + q("isin"), sorted({item.instrument for _, item in items}))
    trade_in, trade_params = in_list("t." + q("external_ref"), trade_refs)
    market = Instrument._meta.get_field("market")
    queries = [
        (f"SELECT {_EARLIER.columns('c')}, cp.{q('code')} FROM {q(Confirmation._meta.db_table)} c "  # noqa: S608
         f"JOIN {q(Counterparty._meta.db_table)} cp ON cp.id = c.counterparty_id WHERE {ref_in} AND {cp_in}",
         [*ref_params, *cp_params]),
        (f"SELECT {_ACCOUNT.columns('a')} FROM {q(Account._meta.db_table)} a WHERE {account_in}",  # noqa: S608
         account_params),
        (f"SELECT {_COUNTERPARTY.columns('cp')} FROM {q(Counterparty._meta.db_table)} cp WHERE {cp_in}",  # noqa: S608
         cp_params),
        (f"SELECT {_INSTRUMENT.columns('i')}, {_MARKET.columns('m')} FROM {q(Instrument._meta.db_table)} i "  # noqa: S608
         f"JOIN {q(Market._meta.db_table)} m ON m.{q(market.target_field.column)} = i.{q(market.column)} "
         f"WHERE {isin_in}", isin_params),
        (f"SELECT DISTINCT t.{q('counterparty_id')}, t.{q('external_ref')} "  # noqa: S608
         f"FROM {q(Trade._meta.db_table)} t WHERE {trade_in}", trade_params),
    ]
    if prefetch_ids:
        queries.append(sequence_sql(Confirmation, prefetch_ids))
    rows = select_all(queries)
    earlier = {}
    for row in rows[0]:
        confirmation = _EARLIER.load(row)
        earlier[(row[_EARLIER.width], confirmation.counterparty_ref)] = confirmation
    instruments = {}
    for row in rows[3]:
        instrument = _INSTRUMENT.load(row)
        instrument.market = _MARKET.load(row, _INSTRUMENT.width)
        instruments[instrument.isin] = instrument
    return _Lookup(
        earlier=earlier,
        accounts={a.code: a for a in map(_ACCOUNT.load, rows[1])},
        counterparties={c.code: c for c in map(_COUNTERPARTY.load, rows[2])},
        instruments=instruments,
        trade_refs={(cp_id, ref) for cp_id, ref in rows[4]},
        ids=[row[0] for row in rows[5]] if len(rows) > 5 else [],
    )


def _conflict(index: int, item: ConfirmationInput) -> ConfirmationResult:
    return ConfirmationResult(index, CONFLICT, errors={"counterparty_ref": [
        f"counterparty_ref {item.counterparty_ref!r} of {item.counterparty} was already used for a confirmation with "
        "other terms."]})


_COLUMNS = ("id", "counterparty_id", "counterparty_ref", "account_id", "instrument_id", "side", "quantity", "price",
            "trade_date", "settlement_date", "trade_ref", "match_status", "trade_id", "mismatches", "source",
            "request_hash", "submitted_by_id", "received_at", "matched_at", "resolution", "resolution_reason",
            "resolved_by_id", "resolved_at")


def _submit_once(submitted_by: Actor, items: Sequence[tuple[int, ConfirmationInput]],
                 source: str) -> dict[int, ConfirmationResult]:
    results: dict[int, ConfirmationResult] = {}
    if not items:
        return results
    user, _label = actor_fields(submitted_by)
    if user is None:
        raise ValueError("confirmations are submitted by a user")
    hashes = {index: item.request_hash() for index, item in items}
    lookup = _lookup(items, prefetch_ids=len(items) if len(items) < COPY_THRESHOLD else 0)

    # 1. Earlier confirmations of the same references, and repeats inside the batch.
    first_in_batch: dict[tuple[str, str], int] = {}
    fresh: list[tuple[int, ConfirmationInput]] = []
    for index, item in items:
        key = (item.counterparty, item.counterparty_ref)
        earlier = lookup.earlier.get(key)
        if earlier is not None:
            results[index] = (ConfirmationResult(index, DUPLICATE, earlier.pk, earlier.match_status, earlier.trade_id)
                              if earlier.request_hash == hashes[index] else _conflict(index, item))
        elif key in first_in_batch:
            results[index] = (ConfirmationResult(index, DUPLICATE) if hashes[first_in_batch[key]] == hashes[index]
                              else _conflict(index, item))
        else:
            first_in_batch[key] = index
            fresh.append((index, item))

    # 2. Reference data, dates and the trade named.
    today: dict[str, date] = {}
    to_store: list[tuple[int, ConfirmationInput, Counterparty, Account, Instrument]] = []
    for index, item in fresh:
        errors: dict[str, list[str]] = {}
        counterparty = lookup.counterparties.get(item.counterparty)
        account = lookup.accounts.get(item.account)
        instrument = lookup.instruments.get(item.instrument)
        if counterparty is None:
            errors["counterparty"] = [f"Unknown counterparty {item.counterparty!r}."]
        if account is None:
            errors["account"] = [f"Unknown account {item.account!r}."]
        if instrument is None:
            errors["instrument"] = [f"Unknown instrument {item.instrument!r}."]
        else:
            mic = instrument.market_id
            if mic not in today:
                today[mic] = market_today(market=instrument.market)
            if item.trade_date > today[mic]:
                errors["trade_date"] = ["Trade date is in the future."]
        if item.settlement_date < item.trade_date:
            errors["settlement_date"] = ["Settlement date is before the trade date."]
        if item.trade_ref and counterparty is not None and (counterparty.pk, item.trade_ref) not in lookup.trade_refs:
            errors["trade_ref"] = [f"No trade {item.trade_ref!r} with counterparty {counterparty.code}."]
        if errors:
            results[index] = ConfirmationResult(index, REJECTED, errors=errors)
        else:
            to_store.append((index, item, counterparty, account, instrument))

    # 3. Store, then match them all in one pass.
    stored = _store(submitted_by, to_store, hashes, lookup.ids, source)
    outcome = confirmations_match(actor=submitted_by, confirmation_ids=list(stored.values()),
                                  reason="matching: confirmations received")
    for index, confirmation_id in stored.items():
        match_status, trade_id = outcome.states.get(confirmation_id, (None, None))
        results[index] = ConfirmationResult(index, CREATED, confirmation_id, match_status, trade_id)
    # Duplicates as they are now (the pass may have moved one that showed a trade it matched), and any created
    # one another transaction changed right after the pass read it.
    stale = [index for index, result in results.items() if (result.status == DUPLICATE and result.confirmation_id)
             or (result.status == CREATED and result.match_status is None)]
    if stale:
        states = {pk: (status, trade) for pk, status, trade in Confirmation.objects.filter(
            pk__in=[results[i].confirmation_id for i in stale]).values_list("pk", "match_status", "trade_id")}
        for index in stale:
            results[index].match_status, results[index].trade_id = states[results[index].confirmation_id]

    item_by_index = dict(items)
    for index, result in list(results.items()):
        if result.status == DUPLICATE and result.confirmation_id is None:
            # A repeat inside the batch: the fate of its first occurrence.
            item = item_by_index[index]
            first = results[first_in_batch[(item.counterparty, item.counterparty_ref)]]
            results[index] = ConfirmationResult(index, DUPLICATE if first.status == CREATED else first.status,
                                                first.confirmation_id, first.match_status, first.trade_id,
                                                errors=first.errors)
    return results


def _store(submitted_by: Actor, to_store: list, hashes: dict[int, str], ids: list[int],
           source: str) -> dict[int, int]:
    """Insert the confirmations (UNMATCHED) and their CREATE audit records; return {index: confirmation id}."""
    if not to_store:
        return {}
    now = timezone.now()
    user, _label = actor_fields(submitted_by)
    ids = ids[:len(to_store)] if len(ids) >= len(to_store) else allocate_ids(Confirmation, len(to_store))
    rows, entries, stored = [], [], {}
    for (index, item, counterparty, account, instrument), confirmation_id in zip(to_store, ids, strict=True):
        confirmation = Confirmation(
            id=confirmation_id, counterparty_id=counterparty.pk, counterparty_ref=item.counterparty_ref,
            account_id=account.pk, instrument_id=instrument.pk, side=item.side, quantity=item.quantity,
            price=item.price, trade_date=item.trade_date, settlement_date=item.settlement_date,
            trade_ref=item.trade_ref or "", match_status=UNMATCHED, trade_id=None, mismatches=[], source=source,
            request_hash=hashes[index], submitted_by_id=user.pk, received_at=now, matched_at=None, resolution="",
            resolution_reason="", resolved_by_id=None, resolved_at=None)
        after = snapshot(confirmation)
        rows.append(tuple(_db_value(column, after, confirmation) for column in _COLUMNS))
        entries.append(AuditEntry(_CONFIRMATION, confirmation_id, None, after))
        stored[index] = confirmation_id
    insert_many([(Confirmation, _COLUMNS, rows),
                 (AuditRecord, AUDIT_COLUMNS, audit_rows(actor=submitted_by, action="CREATE", entries=entries))])
    return stored


def _db_value(column: str, canonical: dict, confirmation: Confirmation):
    """A column's value as the insert writes it: the snapshot's canonical text (decimals, dates, times, JSON)."""
    if column == "mismatches":
        return "[]"
    if column == "received_at":
        return confirmation.received_at.isoformat(timespec="microseconds")
    return canonical[column]
