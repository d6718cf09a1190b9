"""Matching counterparties' confirmations to our trades: set-based, serialized per (counterparty, instrument).

A confirmation matches a trade when the counterparty (the trade's own), account, instrument, trade
date, settlement date and quantity are equal, the sides mirror (their SELL is our BUY) and the prices
differ by at most our price x the tolerance of the instrument's asset class (clearing.MatchTolerance,
in basis points; no row: the exact price). A confirmation quoting our trade reference (trade_ref)
may only match that trade. Candidates are trades neither cancelled nor rejected and not matched.

One pass over a scope of confirmations costs a few statements whatever its size:

1. one round trip: the advisory locks of every (counterparty, instrument) key of the scope, in key
   order, then the confirmations of the scope (READ COMMITTED: this second statement sees what a
   transaction that held a lock committed);
2. the candidate trades of those confirmations, locked FOR UPDATE SKIP LOCKED (a trade another
   transaction is amending or cancelling is left to that transaction, whose trade hook waits on
   our lock and matches after us: nobody waits on a trade row while holding a key lock);
3. pairing in Python: matches kept while they still agree, trade_ref confirmations first, then
   per exact key a sweep of both sides sorted by price and id (the largest one-to-one matching
   for price intervals, deterministic whatever the order of arrival);
4. for the confirmations left, the closest candidate (same counterparty, account, instrument and
   trade date, or the trade_ref trade): MISMATCHED with every differing field, else UNMATCHED;
5. the writes: confirmations updated from arrays (releases before matches, so that the partial
   unique constraint "one MATCHED confirmation per trade" holds row by row; each row guarded by
   the state it was read in), trades' match_status recomputed from their confirmations, a MATCH
   lifecycle event per trade affirmed, and the audit records, in one INSERT.

Every writer of a confirmation holds its key's lock first; the trade paths of records (capture,
amend, cancel, release) take it through the trade hook after writing their trades, the
confirmation paths after inserting their confirmations, so a trade and its confirmation arriving
at once from two requests always meet: whichever locks second sees the other.
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, localcontext

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backoffice.core.bulk import RowLoader, batch_value, insert_many, select_all
from backoffice.core.fields import format_decimal
from clearing.models import Confirmation, MatchTolerance
from records.audit.models import Actor, AuditRecord
from records.audit.services.audit import AUDIT_COLUMNS, AuditEntry, actor_fields, audit_rows, record_type_of, snapshot
from records.reference.models import Account, Counterparty, Instrument
from records.trades import hooks
from records.trades.models import Trade, TradeEvent

MATCHED = Confirmation.MatchStatus.MATCHED.value
MISMATCHED = Confirmation.MatchStatus.MISMATCHED.value
UNMATCHED = Confirmation.MatchStatus.UNMATCHED.value
OPEN_STATUSES = tuple(Confirmation.OPEN_STATUSES)
# Trades that are no candidate for any confirmation.
DEAD_TRADE_STATUSES = (Trade.Status.CANCELLED.value, Trade.Status.REJECTED.value)
# The fields a mismatch names, in the order the breaks queue shows them.
COMPARED_FIELDS = ("account", "instrument", "side", "quantity", "price", "trade_date", "settlement_date")

_CONFIRMATION = record_type_of(Confirmation)
_TRADE = record_type_of(Trade)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _q(model._meta.db_table)


# Terms and their comparison ---------------------------------------------------------------------

@dataclass(frozen=True)
class TradeTerms:
    """A trade as matching compares it, with the price tolerance of its instrument's asset class (bp)."""

    id: int
    external_ref: str
    counterparty_id: int
    account_id: int
    instrument_id: int
    side: str
    quantity: Decimal
    price: Decimal
    trade_date: date
    settlement_date: date
    status: str
    match_status: str
    tolerance_bps: Decimal
    account_code: str
    isin: str


def price_within_tolerance(*, ours: Decimal, theirs: Decimal, tolerance_bps: Decimal) -> bool:
    """True when |ours - theirs| <= ours x tolerance_bps / 10,000, computed exactly (no rounding)."""
    with localcontext() as ctx:
        ctx.prec = 80
        return abs(ours - theirs) * 10_000 <= ours * tolerance_bps


def _mirrors(their_side: str, our_side: str) -> bool:
    return their_side != our_side


def terms_agree(confirmation: Confirmation, trade: TradeTerms) -> bool:
    """True when the confirmation confirms the trade as booked: a match (see the module docstring)."""
    return (trade.status not in DEAD_TRADE_STATUSES
            and trade.counterparty_id == confirmation.counterparty_id
            and trade.account_id == confirmation.account_id
            and trade.instrument_id == confirmation.instrument_id
            and _mirrors(confirmation.side, trade.side)
            and trade.quantity == confirmation.quantity
            and trade.trade_date == confirmation.trade_date
            and trade.settlement_date == confirmation.settlement_date
            and (not confirmation.trade_ref or confirmation.trade_ref == trade.external_ref)
            and price_within_tolerance(ours=trade.price, theirs=confirmation.price,
                                       tolerance_bps=trade.tolerance_bps))


def _text(value) -> str:
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def terms_differences(confirmation: Confirmation, trade: TradeTerms, *, account_code: str,
                      isin: str) -> list[dict]:
    """Every field on which the confirmation differs from the trade: [{"field", "ours", "theirs"}].

    The side differs when it does not mirror ours (both BUY); the price when it is outside the
    tolerance. account_code and isin are the confirmation's.
    """
    theirs = {"account": account_code, "instrument": isin, "side": confirmation.side,
              "quantity": confirmation.quantity, "price": confirmation.price, "trade_date": confirmation.trade_date,
              "settlement_date": confirmation.settlement_date}
    ours = {"account": trade.account_code, "instrument": trade.isin, "side": trade.side, "quantity": trade.quantity,
            "price": trade.price, "trade_date": trade.trade_date, "settlement_date": trade.settlement_date}
    differing = []
    for name in COMPARED_FIELDS:
        if name == "side":
            differs = not _mirrors(confirmation.side, trade.side)
        elif name == "price":
            differs = not price_within_tolerance(ours=trade.price, theirs=confirmation.price,
                                                 tolerance_bps=trade.tolerance_bps)
        else:
            differs = ours[name] != theirs[name]
        if differs:
            differing.append({"field": name, "ours": _text(ours[name]), "theirs": _text(theirs[name])})
    return differing


# Locks ------------------------------------------------------------------------------------------

# The advisory lock key of a (counterparty id, instrument id): a 64-bit hash, clear of other locks' keys.
_KEY = "hashtextextended('clearing.match:' || {cp}::text || ':' || {instrument}::text, 0)"


def _lock_sql(source: str, params: Sequence) -> tuple[str, list]:
    """Lock every key of `source` (a SELECT of counterparty id, instrument id) in key order: one statement,
    so that two transactions locking overlapping keys never wait for each other in a cycle."""
    key = _KEY.format(cp="pairs.cp", instrument="pairs.instrument")
    # The distinct pairs first, then their hashes: a batch of 10,000 trades hashes its few dozen keys.
    return (f"SELECT pg_advisory_xact_lock(keys.k) FROM (SELECT DISTINCT {key} AS k FROM "  # noqa: S608 - no input
            f"(SELECT DISTINCT * FROM ({source}) AS src (cp, instrument)) AS pairs ORDER BY k) AS keys", list(params))


def match_keys_lock(*, keys: Iterable[tuple[int, int]]) -> None:
    """Hold the matching locks of these (counterparty id, instrument id) keys. Call inside an atomic block.

    For the writers of a confirmation outside a matching pass (the breaks workflow): take every key
    needed at once, before locking confirmation rows.
    """
    keys = sorted(set(keys))
    if not keys:
        return
    sql, params = _lock_sql("SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
                            [[cp for cp, _ in keys], [instrument for _, instrument in keys]])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# The pass ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Scope:
    """Which confirmations a pass looks at: `where` on clearing_confirmation c, the keys it locks
    (a SELECT of counterparty id, instrument id), and the trades whose MATCHED confirmations are
    checked again (a trade amended, cancelled or released)."""

    lock_source: tuple[str, list]
    where: tuple[str, list]
    recheck_trade_ids: tuple[int, ...] = ()


@dataclass
class MatchOutcome:
    """What a pass did: the confirmations whose state it changed, and the state of each it looked at."""

    matched: list[int] = field(default_factory=list)
    mismatched: list[int] = field(default_factory=list)
    unmatched: list[int] = field(default_factory=list)
    # confirmation id -> (match_status, trade id or None), for every confirmation of the scope
    states: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    trades_changed: int = 0

    @property
    def changed(self) -> int:
        return len(self.matched) + len(self.mismatched) + len(self.unmatched)

    def as_dict(self) -> dict:
        return {"rows": self.changed, "looked_at": len(self.states), "matched": len(self.matched),
                "mismatched": len(self.mismatched), "unmatched": len(self.unmatched),
                "trades_changed": self.trades_changed}


@dataclass
class _Plan:
    """The new state of a confirmation of the scope."""

    confirmation: Confirmation
    status: str
    trade_id: int | None
    mismatches: list
    matched_at: datetime | None
    event_reason: str = ""


_LOADER = RowLoader(Confirmation)
_OPEN_SQL = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
_DEAD_SQL = ", ".join(f"'{status}'" for status in DEAD_TRADE_STATUSES)


def _confirmations_sql(scope: _Scope) -> tuple[str, list]:
    where, params = scope.where
    if scope.recheck_trade_ids:
        # Literal statuses, so that the planner can use the partial index of the open ones.
        status = (f"(c.match_status IN ({_OPEN_SQL}) OR (c.match_status = '{MATCHED}' "
                  "AND c.trade_id = ANY(%s::bigint[])))")
        params = [*params, list(scope.recheck_trade_ids)]
    else:
        status = f"c.match_status IN ({_OPEN_SQL})"
    # No joins: the trade hook runs this for every batch, and most find nothing (the codes come later).
    return (f"SELECT {_LOADER.columns('c')} FROM {_table(Confirmation)} c "  # noqa: S608 - names from meta
            f"WHERE ({where}) AND {status} ORDER BY c.id", params)


def _codes_sql(confirmation_ids: list[int]) -> tuple[str, list]:
    """The counterparty code, account code and ISIN of each confirmation (for mismatches and events)."""
    return (f"SELECT c.id, cp.{_q('code')}, a.{_q('code')}, i.{_q('isin')} FROM {_table(Confirmation)} c "  # noqa: S608
            f"JOIN {_table(Counterparty)} cp ON cp.id = c.counterparty_id "
            f"JOIN {_table(Account)} a ON a.id = c.account_id "
            f"JOIN {_table(Instrument)} i ON i.id = c.instrument_id WHERE c.id = ANY(%s::bigint[])", [confirmation_ids])


_TRADE_COLUMNS = ("t.id, t.external_ref, t.counterparty_id, t.account_id, t.instrument_id, t.side, t.quantity, "
                  "t.price, t.trade_date, t.settlement_date, t.status, t.match_status, "
                  "COALESCE(mt.price_tolerance_bps, 0), a.code, i.isin")


def _trade_joins() -> str:
    return (f"JOIN {_table(Instrument)} i ON i.id = t.instrument_id "
            f"JOIN {_table(Account)} a ON a.id = t.account_id "
            f"LEFT JOIN {_table(MatchTolerance)} mt ON mt.asset_class = i.asset_class")


def _candidates_sql(confirmation_ids: list[int], recheck_trade_ids: Sequence[int]) -> tuple[str, list]:
    """The trades that agree with some confirmation on everything but the price, locked (SKIP LOCKED)."""
    return (f"SELECT {_TRADE_COLUMNS} FROM {_table(Trade)} t {_trade_joins()} "  # noqa: S608 - names from meta
            f"WHERE t.id IN (SELECT t2.id FROM unnest(%s::bigint[]) AS s (cid) "
            f"JOIN {_table(Confirmation)} c ON c.id = s.cid "
            f"JOIN {_table(Trade)} t2 ON t2.account_id = c.account_id AND t2.instrument_id = c.instrument_id "
            "AND t2.trade_date = c.trade_date AND t2.counterparty_id = c.counterparty_id AND t2.side <> c.side "
            "AND t2.quantity = c.quantity AND t2.settlement_date = c.settlement_date "
            "AND (c.trade_ref = '' OR t2.external_ref = c.trade_ref)) "
            f"AND t.status NOT IN ({_DEAD_SQL}) "
            f"AND (t.match_status <> '{MATCHED}' OR t.id = ANY(%s::bigint[])) "
            "ORDER BY t.id FOR UPDATE OF t SKIP LOCKED", [confirmation_ids, list(recheck_trade_ids)])


# How close a candidate is: fewest differing fields, then the smallest differences, then the oldest.
_CLOSENESS = ("((t.side = c.side)::int + (t.quantity <> c.quantity)::int + (t.price <> c.price)::int "
              "+ (t.settlement_date <> c.settlement_date)::int), abs(t.quantity - c.quantity), "
              "abs(t.price - c.price), t.id")


def _closest_sql(confirmation_ids: list[int], free_trade_ids: Sequence[int],
                 taken_trade_ids: Sequence[int]) -> tuple[str, list]:
    """The closest candidate of each confirmation: in its (counterparty, account, instrument, trade date), or
    the trade it names (trade_ref)."""
    candidate = (f"t.status NOT IN ({_DEAD_SQL}) AND (t.match_status <> '{MATCHED}' OR t.id = ANY(%s::bigint[])) "
                 "AND t.id <> ALL(%s::bigint[])")
    branches = []
    for by_ref in (False, True):
        where = ("t.counterparty_id = c.counterparty_id AND t.external_ref = c.trade_ref AND c.trade_ref <> ''"
                 if by_ref else
                 "t.account_id = c.account_id AND t.instrument_id = c.instrument_id AND t.trade_date = c.trade_date "
                 "AND t.counterparty_id = c.counterparty_id AND c.trade_ref = ''")
        branches.append(
            f"SELECT s.cid, {_TRADE_COLUMNS} FROM unnest(%s::bigint[]) AS s (cid) "  # noqa: S608
            f"JOIN {_table(Confirmation)} c ON c.id = s.cid "
            f"CROSS JOIN LATERAL (SELECT t.* FROM {_table(Trade)} t WHERE {where} AND {candidate} "
            f"ORDER BY {_CLOSENESS} LIMIT 1) t {_trade_joins()}")
    params = [confirmation_ids, list(free_trade_ids), list(taken_trade_ids)]
    return " UNION ALL ".join(branches), params * 2


def _terms(row: Sequence) -> TradeTerms:
    return TradeTerms(*row)


def _pair(open_confirmations: list[Confirmation], trades: dict[int, TradeTerms],
          recheck: set[int]) -> tuple[dict[int, int], set[int]]:
    """Pair confirmations with candidate trades, one to one: {confirmation id: trade id}, and the kept pairs."""
    pairs: dict[int, int] = {}
    taken: set[int] = set()
    kept: set[int] = set()
    # 1. A match still agreeing stays as it is (a released or amended trade that still agrees).
    for c in open_confirmations:
        if c.match_status == MATCHED:
            trade = trades.get(c.trade_id)
            if trade is not None and c.trade_id not in taken and terms_agree(c, trade):
                pairs[c.pk] = trade.id
                taken.add(trade.id)
                kept.add(c.pk)
    free = [c for c in open_confirmations if c.pk not in pairs]
    # 2. A confirmation naming our trade: only that trade; the oldest confirmation first.
    by_ref: dict[str, list[TradeTerms]] = defaultdict(list)
    for trade in sorted(trades.values(), key=lambda t: t.id):
        by_ref[trade.external_ref].append(trade)
    for c in free:
        if c.trade_ref:
            for trade in by_ref.get(c.trade_ref, ()):
                if trade.id not in taken and terms_agree(c, trade):
                    pairs[c.pk] = trade.id
                    taken.add(trade.id)
                    break
    # 3. The others, per exact key: both sides by price then id, swept once (intervals of tolerance grow
    # with the price, so the sweep pairs as many as can be paired).
    groups: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
    for c in free:
        if not c.trade_ref and c.pk not in pairs:
            groups[(c.counterparty_id, c.account_id, c.instrument_id, "SELL" if c.side == "BUY" else "BUY",
                    c.quantity, c.trade_date, c.settlement_date)][0].append(c)
    for trade in trades.values():
        if trade.id in taken or trade.status in DEAD_TRADE_STATUSES:
            continue
        if trade.match_status == MATCHED and trade.id not in recheck:
            continue
        key = (trade.counterparty_id, trade.account_id, trade.instrument_id, trade.side, trade.quantity,
               trade.trade_date, trade.settlement_date)
        if key in groups:
            groups[key][1].append(trade)
    for confirmations, candidates in groups.values():
        confirmations.sort(key=lambda c: (c.price, c.pk))
        candidates.sort(key=lambda t: (t.price, t.id))
        i = j = 0
        while i < len(confirmations) and j < len(candidates):
            c, trade = confirmations[i], candidates[j]
            if terms_agree(c, trade):
                pairs[c.pk] = trade.id
                taken.add(trade.id)
                i += 1
                j += 1
            elif trade.price < c.price:
                j += 1  # too low for this confirmation, and for every later (dearer) one
            else:
                i += 1  # too high for this confirmation; every later trade is dearer still
    return pairs, kept


def _run_pass(*, actor: Actor, scope: _Scope, reason: str, now: datetime) -> tuple[MatchOutcome, set[int]]:
    """One matching pass over the scope. Returns the outcome and the trades newly matched."""
    outcome = MatchOutcome()
    _locked, confirmations_rows = select_all([_lock_sql(*scope.lock_source), _confirmations_sql(scope)])
    if not confirmations_rows:
        return outcome, set()
    scoped: list[Confirmation] = [_LOADER.load(row) for row in confirmations_rows]
    recheck = set(scope.recheck_trade_ids)
    ids = [c.pk for c in scoped]
    code_rows, candidate_rows = select_all([_codes_sql(ids), _candidates_sql(ids, scope.recheck_trade_ids)])
    codes: dict[int, tuple[str, str, str]] = {row[0]: tuple(row[1:]) for row in code_rows}
    trades = {row[0]: _terms(row) for row in candidate_rows}
    pairs, kept = _pair(scoped, trades, recheck)

    # The closest candidate of each confirmation left: the trades paired now are no longer candidates,
    # those whose match is released now (recheck) are.
    left = [c.pk for c in scoped if c.pk not in pairs]
    closest: dict[int, TradeTerms] = {}
    if left:
        released = [c.trade_id for c in scoped if c.match_status == MATCHED and c.pk not in kept and c.trade_id]
        with connection.cursor() as cursor:
            cursor.execute(*_closest_sql(left, released, sorted(set(pairs.values()))))
            closest = {row[0]: _terms(row[1:]) for row in cursor.fetchall()}

    plans: list[_Plan] = []
    for c in scoped:
        cp_code, account_code, isin = codes[c.pk]
        if c.pk in pairs:
            trade_id = pairs[c.pk]
            plan = _Plan(c, MATCHED, trade_id, [], c.matched_at if c.pk in kept else now,
                         event_reason=f"Confirmation {cp_code} {c.counterparty_ref} (#{c.pk})")
        else:
            trade = closest.get(c.pk)
            differences = (terms_differences(c, trade, account_code=account_code, isin=isin)
                           if trade is not None else [])
            # A closest candidate that agrees in full is a trade another transaction holds (skipped
            # above): that transaction matches it after us. Nothing to show against it meanwhile.
            if differences:
                plan = _Plan(c, MISMATCHED, trade.id, differences, None)
            else:
                plan = _Plan(c, UNMATCHED, None, [], None)
        outcome.states[c.pk] = (plan.status, plan.trade_id)
        if (plan.status, plan.trade_id, plan.mismatches) != (c.match_status, c.trade_id, c.mismatches):
            plans.append(plan)
    if not plans:
        return outcome, set()

    affected = {c.trade_id for c in (p.confirmation for p in plans) if c.trade_id} | {
        p.trade_id for p in plans if p.trade_id} | recheck
    applied, trade_rows = _write(plans, affected_trades=affected, actor=actor, reason=reason, now=now)
    for plan in plans:
        if plan.confirmation.pk not in applied:
            # Changed by another transaction since it was read: as that one left it.
            outcome.states.pop(plan.confirmation.pk, None)
            continue
        {MATCHED: outcome.matched, MISMATCHED: outcome.mismatched}.get(plan.status, outcome.unmatched).append(
            plan.confirmation.pk)
    outcome.trades_changed = len(trade_rows)
    newly_matched = {p.trade_id for p in plans if p.status == MATCHED and p.confirmation.pk in applied}
    return outcome, newly_matched


_CONFIRMATION_UPDATE = (
    "UPDATE {table} AS c SET match_status = u.status, trade_id = u.trade_id, mismatches = u.mismatches::jsonb, "
    "matched_at = u.matched_at "
    "FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::timestamptz[], %s::text[], %s::bigint[]) "
    "AS u (id, status, trade_id, mismatches, matched_at, old_status, old_trade_id) "
    # The state it was read in: a row another transaction changed since is left as that one left it.
    "WHERE c.id = u.id AND c.match_status = u.old_status AND c.trade_id IS NOT DISTINCT FROM u.old_trade_id "
    "RETURNING c.id")

_TRADE_REFRESH = (
    "WITH locked AS (SELECT t.id, t.status, t.match_status FROM {trade} t WHERE t.id = ANY(%s::bigint[]) "
    "ORDER BY t.id FOR UPDATE SKIP LOCKED), "
    "computed AS (SELECT l.id, l.status, l.match_status AS old, CASE "
    "WHEN EXISTS (SELECT 1 FROM {confirmation} c WHERE c.trade_id = l.id AND c.match_status = 'MATCHED') "
    "THEN 'MATCHED' "
    "WHEN EXISTS (SELECT 1 FROM {confirmation} c WHERE c.trade_id = l.id AND c.match_status = 'MISMATCHED') "
    "THEN 'MISMATCHED' ELSE 'UNMATCHED' END AS new FROM locked l) "
    "UPDATE {trade} AS t SET match_status = computed.new, updated_at = %s FROM computed "
    "WHERE t.id = computed.id AND computed.old <> computed.new "
    "RETURNING t.id, computed.status, computed.old, computed.new")


def _confirmation_update_sql(plans: list[_Plan]) -> tuple[str, list]:
    columns: list[list] = [[], [], [], [], [], [], []]
    for plan in plans:
        c = plan.confirmation
        for column, value in zip(columns, (c.pk, plan.status, plan.trade_id, json.dumps(plan.mismatches),
                                           plan.matched_at, c.match_status, c.trade_id), strict=True):
            column.append(value)
    return _CONFIRMATION_UPDATE.format(table=_table(Confirmation)), columns


def _trade_refresh_sql(trade_ids: Iterable[int], now: datetime) -> tuple[str, list]:
    return (_TRADE_REFRESH.format(trade=_table(Trade), confirmation=_table(Confirmation)),
            [sorted(trade_ids), now])


def _trade_audit(rows: Sequence[tuple]) -> list[AuditEntry]:
    return [AuditEntry(_TRADE, trade_id, {"match_status": old}, {"match_status": new})
            for trade_id, _status, old, new in rows]


def _match_events(rows: Sequence[tuple], reasons: dict[int, str], *, actor: Actor, now: datetime) -> list[tuple]:
    """A MATCH lifecycle event for each trade the rows (of the trade refresh) show affirmed."""
    user, label = actor_fields(actor)
    stamp = batch_value(now)
    return [(trade_id, stamp, user.pk if user is not None else None, label, TradeEvent.Action.MATCH.value, status,
             status, reasons.get(trade_id, "")) for trade_id, status, _old, new in rows if new == MATCHED]


_EVENT_COLUMNS = ("trade_id", "at", "actor_id", "actor_label", "action", "from_status", "to_status", "reason")


def _write(plans: list[_Plan], *, affected_trades: set[int], actor: Actor, reason: str,
           now: datetime) -> tuple[set[int], list[tuple]]:
    """Write the plans, recompute the affected trades' match status, their events and every audit record.

    In a savepoint: should the one-match-per-trade constraint refuse a row after all (the last guard),
    the pass writes nothing and the next pass or the matching job retries.
    """
    releases = [p for p in plans if p.status != MATCHED]
    matches = [p for p in plans if p.status == MATCHED]
    try:
        with transaction.atomic():
            statements = [_confirmation_update_sql(part) for part in (releases, matches) if part]
            statements.append(_trade_refresh_sql(affected_trades, now))
            results = select_all(statements)
            applied = {row[0] for rows in results[:-1] for row in rows}
            trade_rows = results[-1]
            entries = []
            for plan in plans:
                c = plan.confirmation
                if c.pk not in applied:
                    continue
                before = snapshot(c)
                c.match_status, c.trade_id, c.mismatches, c.matched_at = (plan.status, plan.trade_id, plan.mismatches,
                                                                          plan.matched_at)
                entries.append(AuditEntry(_CONFIRMATION, c.pk, before, snapshot(c)))
            reasons = {p.trade_id: p.event_reason for p in matches if p.confirmation.pk in applied}
            insert_many([
                (TradeEvent, _EVENT_COLUMNS, _match_events(trade_rows, reasons, actor=actor, now=now)),
                (AuditRecord, AUDIT_COLUMNS, [
                    *audit_rows(actor=actor, action="UPDATE", entries=entries, reason=reason),
                    *audit_rows(actor=actor, action="TRANSITION", entries=_trade_audit(trade_rows), reason=reason)]),
            ])
    except IntegrityError:
        return set(), []
    return applied, trade_rows


def _match(*, actor: Actor, scope: _Scope, reason: str) -> MatchOutcome:
    now = timezone.now()
    outcome, newly_matched = _run_pass(actor=actor, scope=scope, reason=reason, now=now)
    if newly_matched:
        # Open confirmations that showed these trades as their closest candidate look again. Only
        # those of keys this transaction holds: the trades' own (a confirmation naming one of them
        # under another instrument is left to the next pass).
        trade_keys = (f"SELECT t.counterparty_id, t.instrument_id FROM {_table(Trade)} t "  # noqa: S608
                      "WHERE t.id = ANY(%s::bigint[])", [sorted(newly_matched)])
        follow_up = _Scope(lock_source=trade_keys, where=(
            "c.trade_id = ANY(%s::bigint[]) AND (c.counterparty_id, c.instrument_id) IN "  # noqa: S608 - names from meta
            f"(SELECT t.counterparty_id, t.instrument_id FROM {_table(Trade)} t WHERE t.id = ANY(%s::bigint[]))",
            [sorted(newly_matched), sorted(newly_matched)]))
        more, _ = _run_pass(actor=actor, scope=follow_up, reason=reason, now=now)
        outcome.matched += more.matched
        outcome.mismatched += more.mismatched
        outcome.unmatched += more.unmatched
        outcome.trades_changed += more.trades_changed
    return outcome


# Entry points -----------------------------------------------------------------------------------

@transaction.atomic(savepoint=False)
def confirmations_match(*, actor: Actor, confirmation_ids: Sequence[int], reason: str = "confirmation matching",
                        recheck_trade_ids: Sequence[int] = ()) -> MatchOutcome:
    """Match these confirmations (those still open; MATCHED ones of recheck_trade_ids are checked again).

    Inside the caller's transaction when there is one (the locks and the writes belong to it).
    """
    ids = sorted(set(confirmation_ids))
    if not ids:
        return MatchOutcome()
    source = (f"SELECT c.counterparty_id, c.instrument_id FROM {_table(Confirmation)} c "  # noqa: S608
              "WHERE c.id = ANY(%s::bigint[])", [ids])
    return _match(actor=actor, reason=reason, scope=_Scope(
        lock_source=source, where=("c.id = ANY(%s::bigint[])", [ids]),
        recheck_trade_ids=tuple(sorted(set(recheck_trade_ids)))))


@transaction.atomic
def confirmations_match_range(*, actor: Actor, first_id: int, last_id: int,
                              reason: str = "matching job") -> MatchOutcome:
    """Match the open confirmations with ids from first_id to last_id (a chunk of the matching job). Idempotent:
    a confirmation that cannot match, or whose state is unchanged, is not written again."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c.id FROM {_table(Confirmation)} c WHERE c.id BETWEEN %s AND %s "  # noqa: S608
                       f"AND c.match_status IN ({_OPEN_SQL}) ORDER BY c.id", [first_id, last_id])
        ids = [row[0] for row in cursor.fetchall()]
    return confirmations_match(actor=actor, confirmation_ids=ids, reason=reason)


_HOOK_REASONS = {hooks.BOOKED: "matching: trades booked", hooks.AMENDED: "matching: trade amended",
                 hooks.CANCELLED: "matching: trade cancelled", hooks.RELEASED: "matching: trade released"}


@transaction.atomic(savepoint=False)
def matching_on_trades(*, trade_ids: Sequence[int], event: str, actor: Actor) -> None:
    """The trade hook (settings.TRADE_HOOKS): match waiting confirmations to trades just booked or changed.

    Called by records in the transaction that wrote the trades. For a booked batch it costs one round
    trip of two statements when no confirmation waits in the trades' (counterparty, account,
    instrument, trade date): the keys' locks, then the look-up. An amended, cancelled or released
    trade also has its MATCHED confirmation checked again: one that no longer agrees is released
    (and retried: MISMATCHED against the closest candidate, usually this trade), one of a cancelled
    trade likewise.
    """
    ids = sorted(set(trade_ids))
    if not ids:
        return
    trade_table = _table(Trade)
    # A booked batch's ids come from the sequence in one block: then a range, read in one index pass, and
    # two parameters instead of two arrays of 10,000.
    if ids[-1] - ids[0] + 1 == len(ids):
        trades, trade_params = "t.id BETWEEN %s AND %s", [ids[0], ids[-1]]
    else:
        trades, trade_params = "t.id = ANY(%s::bigint[])", [ids]
    groups = (f"(c.counterparty_id, c.account_id, c.instrument_id, c.trade_date) IN (SELECT t.counterparty_id, "  # noqa: S608
              f"t.account_id, t.instrument_id, t.trade_date FROM {trade_table} t WHERE {trades})")
    trade_keys = f"SELECT t.counterparty_id, t.instrument_id FROM {trade_table} t WHERE {trades}"  # noqa: S608
    if event == hooks.BOOKED:
        scope = _Scope(lock_source=(trade_keys, trade_params), where=(groups, trade_params))
    else:
        # The confirmations showing these trades (matched, or closest candidate), whatever their key.
        linked = (f"SELECT c.counterparty_id, c.instrument_id FROM {_table(Confirmation)} c "  # noqa: S608
                  "WHERE c.trade_id = ANY(%s::bigint[])")
        scope = _Scope(lock_source=(f"{trade_keys} UNION ALL {linked}", [*trade_params, ids]),
                       where=(f"{groups} OR c.trade_id = ANY(%s::bigint[])", [*trade_params, ids]),
                       recheck_trade_ids=tuple(ids))
    _match(actor=actor, scope=scope, reason=_HOOK_REASONS.get(event, f"matching: trades {event}"))


@transaction.atomic(savepoint=False)
def trade_match_status_refresh(*, actor: Actor, trade_ids: Iterable[int], reason: str,
                               event_reasons: dict[int, str] | None = None) -> int:
    """Recompute the match status of these trades from their confirmations, with an audit record per change
    and a MATCH event per trade affirmed. Trades another transaction holds are left to it.

    The caller holds the matching locks of the confirmations it just changed.
    """
    ids = sorted(set(trade_ids))
    if not ids:
        return 0
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(*_trade_refresh_sql(ids, now))
        rows = cursor.fetchall()
    insert_many([(TradeEvent, _EVENT_COLUMNS, _match_events(rows, event_reasons or {}, actor=actor, now=now)),
                 (AuditRecord, AUDIT_COLUMNS, audit_rows(actor=actor, action="TRANSITION", entries=_trade_audit(rows),
                                                         reason=reason))])
    return len(rows)


def trade_terms_get(trade_id: int) -> TradeTerms | None:
    """A trade's terms as matching compares them (with its asset class's tolerance), or None."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_TRADE_COLUMNS} FROM {_table(Trade)} t {_trade_joins()} "  # noqa: S608
                       "WHERE t.id = %s", [trade_id])
        row = cursor.fetchone()
    return _terms(row) if row else None
