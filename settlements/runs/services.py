"""Settlement runs: every open instruction due by a date settled delivery versus payment (DESIGN.md §6).

A settlement run is a batch job of kind settlement-run (settlements/runs/jobs.py). Its step
"settle" has one chunk per range of ACCOUNT ids, fixed when the run is created (account_bounds in
the job's parameters, cut so that each chunk holds about INSTRUCTIONS_PER_CHUNK open instructions;
the first and last ranges are open-ended). An account's instructions, positions, cash balances,
trades and obligations are all the account's own, so each is touched by one chunk only: chunks
never wait for each other's locks. A chunk (settlement_run_settle) is one transaction:

1. read, under lock, the chunk's open instructions (PENDING, PARTIAL, FAILED; never HELD or
   CANCELLED) due on or before the date, in an instrument whose market settles that day, with
   their obligation's gross quantities and their fail (one query);
2. read, under lock, the positions and cash balances they settle against (two queries);
3. decide in Python, per account, in priority order (settlements/runs/dvp.py: oldest settlement
   date first, deliveries before receipts, then id; recycled while a pass settles something);
4. write, set-based: the movements (COPY), the instructions (one UPDATE ... FROM unnest), the
   positions (records/positions/settlement.py), the cash movements and balances
   (records/cash/settlement.py), the trades with their lifecycle events (records/trades/settlement.py),
   the obligations (clearing/netting/settlement.py), the fails (one INSERT, one UPDATE), the run's
   counts; every change audited in bulk.

Lock order, everywhere settlement writes (runs, confirmations, cancellations): instructions (by
id), then positions (account, instrument), then cash balances (account, currency), then trades,
obligations and fails, which only the holder of their instruction's lock changes.

Idempotent: a movement is unique per (instruction, run), and the chunk's instruction read skips
instructions the run has already moved. A worker killed mid-run has its message redelivered and
the job skips the committed chunks; a failed run started again is continued by a new job
(rerun_of the failed one) whose chunks skip those the failed job committed, so the date ends as an
uninterrupted run would. A second run of a date settles what is still open.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import pairwise

from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.bulk import allocate_ids, batch_value, insert_rows
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import InputError, date_param, parse_date
from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.services import job_create, job_enqueue, job_run_execute
from clearing.netting.settlement import ObligationSettlement, obligations_settle
from records.audit.services.audit import AuditEntry, audit_log, audit_log_bulk, record_type_of, snapshot
from records.cash.reservations import cash_reservations_apply
from records.cash.settlement import SettlementCash, cash_lock_available, cash_settle
from records.dated_runs import DatedRunKind, dated_run_actor, dated_run_create, dated_run_for_job
from records.positions.settlement import SettledMove, pending_release, positions_lock_settled, positions_settle
from records.reference import selectors as reference_selectors
from records.reference.services.calendar import is_settlement_day
from records.reference.validators import currency_exponent
from records.trades.settlement import TradeSettlement, trades_settle
from settlements.models import SettlementFail, SettlementInstruction, SettlementMovement, SettlementRun
from settlements.runs import dvp
from settlements.runs.selectors import (
    CONFIRMATIONS,
    SETTLEMENT_RUN,
    confirmations_run_get,
    job_lineage,
    settlement_open_counts,
    settlement_run_active,
    settlement_run_latest,
    settlement_run_of_job,
)

STEP = "settle"
# Audit records built and copied this many at a time, so a chunk's memory stays flat.
AUDIT_BATCH = 20_000
# A chunk of step "settle" aims at this many open instructions (counted when the run is created).
INSTRUCTIONS_PER_CHUNK = 50_000
MAX_CHUNKS = 1_000
# Account ids are bigint: the open ends of the first and last ranges.
_LOWEST, _HIGHEST = 0, 2**63 - 1
# pg_advisory_xact_lock keys (namespace, day ordinal): one start per date; one confirmations container per date.
_START_LOCK = 0x53544C53  # "STLS"
_CONFIRM_LOCK = 0x53544C43  # "STLC"

_INSTRUCTION = record_type_of(SettlementInstruction)
_FAIL = record_type_of(SettlementFail)
_RUN = record_type_of(SettlementRun)
OPEN = tuple(SettlementInstruction.OPEN_STATUSES)
TRADE_STATUS = {dvp.SETTLED: "SETTLED", dvp.PARTIAL: "PARTIALLY_SETTLED", dvp.FAILED: "FAILED"}
OBLIGATION_STATUS = TRADE_STATUS


# --- dates and parameters ---

def settlement_markets(day: date) -> list[str]:
    """Return the MICs of the markets whose settlement system settles on day (none: nothing can settle)."""
    return [market.mic for market in reference_selectors.market_list() if is_settlement_day(market=market, day=day)]


def settlement_date_parse(value) -> date:
    """Return the date to settle, or raise BusinessRuleError on settlement_date.

    A date (or YYYY-MM-DD text) on which no market's settlement system settles is refused.
    """
    day = date_param(value, field="settlement_date")
    if not settlement_markets(day):
        raise BusinessRuleError(f"{day.isoformat()} is not a settlement day of any market.", field="settlement_date")
    return day


def _account_bounds(counts: list[tuple[int, int]], per_chunk: int) -> list[int]:
    """The account ids at which a new chunk starts, each chunk holding about per_chunk instructions."""
    bounds, held = [], 0
    for account_id, instructions in counts:
        if held and held + instructions > per_chunk:
            bounds.append(account_id)
            held = 0
        held += instructions
    return bounds[:MAX_CHUNKS - 1]


def _whole_number(value, *, name: str, minimum: int) -> int:
    message = f"Give a whole number of at least {minimum}."
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BusinessRuleError(message, field=name)
    try:
        number = int(value)
    except ValueError:
        raise BusinessRuleError(message, field=name) from None
    if number < minimum:
        raise BusinessRuleError(message, field=name)
    return number


def settlement_parameters(parameters: dict) -> dict:
    """Validate a run's parameters and fix its chunks: {settlement_date, account_bounds}.

    The job kind's parse: called when a run is created (the bounds cut from the open instructions
    due by the date, instructions_per_chunk of them to a chunk, default INSTRUCTIONS_PER_CHUNK) and
    again, unchanged, for a rerun (the bounds given are kept).
    """
    day = settlement_date_parse(parameters.get("settlement_date"))
    bounds = parameters.get("account_bounds")
    if bounds is None:
        per_chunk = parameters.get("instructions_per_chunk")
        per_chunk = INSTRUCTIONS_PER_CHUNK if per_chunk in (None, "") else _whole_number(
            per_chunk, name="instructions_per_chunk", minimum=1)
        counts = settlement_open_counts(settlement_date=day, markets=settlement_markets(day))
        bounds = _account_bounds(counts, per_chunk)
    elif (not isinstance(bounds, list) or len(bounds) >= MAX_CHUNKS
          or any(isinstance(b, bool) or not isinstance(b, int) or b <= _LOWEST for b in bounds)
          or any(a >= b for a, b in pairwise(bounds))):
        raise BusinessRuleError("Give increasing account ids.", field="account_bounds")
    return {"settlement_date": day.isoformat(), "account_bounds": list(bounds)}


def confirmations_parameters(parameters: dict) -> dict:
    """The parameters of a day's container of confirmed settlements: {settlement_date} (any date)."""
    value = parameters.get("settlement_date")
    try:
        day = value if isinstance(value, date) else parse_date(value)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field="settlement_date") from None
    return {"settlement_date": day.isoformat()}


def account_ranges(parameters: dict) -> list[tuple[int, int]]:
    """The [low, high) account ids of each chunk of step settle, the first and last open-ended."""
    return list(pairwise([_LOWEST, *parameters["account_bounds"], _HIGHEST]))


# --- starting a run ---

RUNS = DatedRunKind(model=SettlementRun, job_kind=SETTLEMENT_RUN, label="settlement run", purpose="settlement",
                    lock_key=_START_LOCK, parse_date=settlement_date_parse, of_job=settlement_run_of_job,
                    active=settlement_run_active, latest=settlement_run_latest)


def _actor_of(started_by):
    return dated_run_actor(RUNS, started_by)


@transaction.atomic
def settlement_run_create(*, settlement_date, started_by, task_id: str = "") -> SettlementRun:
    """Record a QUEUED settlement run of the date with its job; enqueue nothing (the caller executes it).

    started_by is a user or a label ("beat", "command:settlement_run"). With task_id (the Celery task
    creating it), a redelivered task gets the run it created. Raises BusinessRuleError for a date
    that is not a settlement day, ConflictError while a run of the date is queued or running. The
    date's last run FAILED: that run is continued by a new job (rerun_of the failed one), not
    replaced.
    """
    return dated_run_create(RUNS, settlement_date=settlement_date, started_by=started_by, task_id=task_id)


@transaction.atomic
def settlement_run_start(*, settlement_date, started_by) -> SettlementRun:
    """Create a settlement run of the date (see settlement_run_create) and queue it to a worker once this commits.

    The one way the API, the dashboard and `manage.py settlement_run` start a settlement run.
    """
    run = settlement_run_create(settlement_date=settlement_date, started_by=started_by)
    job_id = run.job_id
    # After commit, so a worker never looks for a run that is not there yet.
    job_enqueue(job_id)
    return run


# --- executing a run ---

def _run_for_job(job: JobRun) -> SettlementRun:
    return dated_run_for_job(RUNS, job)


def _committed_by_an_earlier_job(job: JobRun, index: int) -> int | None:
    """The failed job this one continues that committed chunk `index` already, if any (same bounds: same chunk)."""
    earlier = job_lineage(job)
    if not earlier:
        return None
    return (JobChunk.objects.filter(job_id__in=earlier, step=STEP, index=index)
            .values_list("job_id", flat=True).first())


@transaction.atomic
def settlement_run_settle(*, job: JobRun, index: int) -> dict:
    """Settle the open instructions of chunk `index` of the job's run (one account range); return what it did.

    Runs in the chunk's transaction (the job framework's). A chunk the failed job this one continues
    committed is not done again.
    """
    run = _run_for_job(job)
    low, high = account_ranges(job.parameters)[index]
    done_by = _committed_by_an_earlier_job(job, index)
    if done_by is not None:
        return {"rows": 0, "accounts": [low, high], "committed_by_job": done_by}
    day = run.settlement_date
    actor = _actor_of(job.started_by)
    with connection.cursor() as cursor:
        # A chunk reads and writes some thousands of rows of large tables (instructions, trades,
        # obligations: the blotter grows by a million a day) by their keys: index look-ups in nested
        # loops, never a hash or merge join that reads a whole table. This transaction only.
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
    rows = _lock_open_instructions(run=run, low=low, high=high, day=day, markets=settlement_markets(day))
    outcome = _settle(run, rows, actor=actor, value_date=day, reason=f"settlement run {run.pk} of {day.isoformat()}")
    _count(run, outcome, actor=actor)
    return {"rows": outcome.moved, "accounts": [low, high], "instructions": len(rows), "settled": outcome.settled,
            "partial": outcome.partial, "failed": outcome.failed}


# The chunk's open instructions, locked in id order, with what deciding and writing needs: the
# obligation's gross quantities and status (or the gross trade's), the fail, the settlement unit
# (asset class). An instruction this run has moved already (a continued run) is left out.
_OPEN_INSTRUCTIONS = """
SELECT i.id, i.account_id, i.instrument_id, i.currency, i.settlement_date, i.direction, i.payment, i.quantity,
       i.cash_amount, i.settled_quantity, i.settled_cash, i.allow_partial, i.counterparty_failed_at IS NOT NULL,
       i.status, ins.asset_class, i.obligation_id, i.trade_id,
       COALESCE(o.buy_quantity, CASE WHEN t.side = 'BUY' THEN t.quantity ELSE 0 END),
       COALESCE(o.sell_quantity, CASE WHEN t.side = 'SELL' THEN t.quantity ELSE 0 END),
       o.status, f.id, f.cause, f.unsettled_quantity, f.closed_on
FROM settlements_settlementinstruction AS i
JOIN records_instrument AS ins ON ins.id = i.instrument_id
LEFT JOIN clearing_obligation AS o ON o.id = i.obligation_id
LEFT JOIN records_trade AS t ON t.id = i.trade_id
LEFT JOIN settlements_settlementfail AS f ON f.instruction_id = i.id
WHERE {where}
  AND NOT EXISTS (SELECT 1 FROM settlements_settlementmovement AS m WHERE m.instruction_id = i.id
                  AND m.run_id = %(run)s::bigint)
ORDER BY i.id
FOR UPDATE OF i
"""
_IN_RANGE = ("i.account_id >= %(low)s::bigint AND i.account_id < %(high)s::bigint "
             "AND i.settlement_date <= %(day)s::date AND i.status IN ('PENDING', 'PARTIAL', 'FAILED') "
             "AND ins.market_id = ANY(%(markets)s::text[])")


@dataclass
class _Row:
    """An instruction as read, besides what dvp decides on: what the writes need."""

    open: dvp.OpenInstruction
    status: str
    obligation_id: int | None
    trade_id: int | None
    buy_quantity: Decimal
    sell_quantity: Decimal
    obligation_status: str | None
    fail_id: int | None
    fail_cause: str | None
    fail_unsettled: Decimal | None
    fail_closed_on: date | None
    settled_quantity: Decimal  # before this settlement
    settled_cash: Decimal


def _rows(cursor) -> list[_Row]:
    rows = []
    exponents: dict[str, int] = {}
    for (pk, account_id, instrument_id, currency, settlement_date, direction, payment, quantity, cash_amount,
         settled_quantity, settled_cash, allow_partial, counterparty_failed, status, asset_class, obligation_id,
         trade_id, buy_quantity, sell_quantity, obligation_status, fail_id, fail_cause, fail_unsettled,
         fail_closed_on) in cursor.fetchall():
        if currency not in exponents:
            exponents[currency] = currency_exponent(currency)
        instruction = dvp.OpenInstruction(
            id=pk, account_id=account_id, instrument_id=instrument_id, currency=currency,
            settlement_date=settlement_date, direction=direction, payment=payment, quantity=quantity,
            cash_amount=cash_amount, settled_quantity=settled_quantity, settled_cash=settled_cash,
            allow_partial=allow_partial, counterparty_failed=counterparty_failed,
            unit=dvp.settlement_unit(asset_class), minor=dvp.minor_unit(exponents[currency]))
        instruction.reserved = _reserved_for(instruction)
        rows.append(_Row(instruction, status, obligation_id, trade_id, buy_quantity, sell_quantity, obligation_status,
                         fail_id, fail_cause, fail_unsettled, fail_closed_on, settled_quantity, settled_cash))
    return rows


def _reserved_for(instruction) -> Decimal:
    """The cash still reserved for this instruction's payment: what it has yet to pay (counts as available to it).

    An instruction that pays (APMT, cash_amount < 0) reserves all of it when it is created
    (settlements/instructions/services/instructions.py); each settlement releases what it paid.
    """
    if instruction.payment != SettlementInstruction.Payment.AGAINST or instruction.cash_amount >= 0:
        return Decimal(0)
    return max(instruction.settled_cash - instruction.cash_amount, Decimal(0))


def _lock_open_instructions(*, run: SettlementRun, low: int, high: int, day: date, markets: list[str]) -> list[_Row]:
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_INSTRUCTIONS.format(where=_IN_RANGE),
                       {"low": low, "high": high, "day": day, "markets": markets, "run": run.pk})
        return _rows(cursor)


@dataclass
class _Outcome:
    moved: int = 0
    settled: int = 0
    partial: int = 0
    failed: int = 0
    decisions: list = field(default_factory=list)


def _decide(rows: list[_Row]) -> list[dvp.Decision]:
    """Decide per account, against the positions and cash locked here (in key order)."""
    positions = positions_lock_settled((r.open.account_id, r.open.instrument_id) for r in rows)
    cash = cash_lock_available((r.open.account_id, r.open.currency) for r in rows if r.open.has_cash)
    by_account: dict[int, list[dvp.OpenInstruction]] = {}
    resources: dict[int, dvp.AccountResources] = {}
    for row in rows:
        by_account.setdefault(row.open.account_id, []).append(row.open)
        resources.setdefault(row.open.account_id, dvp.AccountResources())
    for (account_id, instrument_id), settled in positions.items():
        resources[account_id].positions[instrument_id] = settled
    for (account_id, currency), balance in cash.items():
        resources[account_id].cash[currency] = dvp.pool_cash(balance.available, by_account[account_id], currency)
    decisions = []
    for account_id in sorted(by_account):
        decisions += dvp.settlement_decide(by_account[account_id], resources[account_id])
    return decisions


def _confirmed(rows: list[_Row]) -> list[dvp.Decision]:
    """The depository reports these settled: all that is left of each, whatever our records hold."""
    # The locks are the same as a run's, in the same order, although nothing is decided on them.
    positions_lock_settled((r.open.account_id, r.open.instrument_id) for r in rows)
    cash_lock_available((r.open.account_id, r.open.currency) for r in rows if r.open.has_cash)
    decisions = []
    for row in rows:
        ins = row.open
        quantity = ins.quantity - ins.settled_quantity
        cash = ins.cash_at(ins.quantity) - ins.settled_cash
        decision = dvp.Decision(ins, quantity=quantity, cash=cash, reservation_released=ins.reserved, moved=True,
                                status=dvp.SETTLED)
        ins.settled_quantity, ins.settled_cash, ins.reserved = ins.quantity, ins.settled_cash + cash, Decimal(0)
        decisions.append(decision)
    return decisions


def _settle(run: SettlementRun, rows: list[_Row], *, actor, value_date: date, reason: str,
            confirmed: bool = False) -> _Outcome:
    """Decide (or take as confirmed) and write the settlement of the locked rows. Inside the caller's transaction."""
    outcome = _Outcome()
    if not rows:
        return outcome
    decisions = _confirmed(rows) if confirmed else _decide(rows)
    by_id = {row.open.id: row for row in rows}
    now = timezone.now()
    moved = [d for d in decisions if d.moved]
    movement_ids = dict(zip((d.instruction.id for d in moved), allocate_ids(SettlementMovement, len(moved)),
                            strict=True))
    _write_movements(run, moved, movement_ids, value_date=value_date, now=now)
    _write_instructions(decisions, by_id, movement_ids, run=run, actor=actor, reason=reason, now=now)
    _write_positions(moved, by_id, actor=actor, reason=reason)
    cash_settle(list(_cash_of(moved, movement_ids, run=run, value_date=value_date)), actor=actor, reason=reason)
    _release_reservations(moved, actor=actor, reason=reason)
    _write_trades(decisions, by_id, actor=actor, reason=reason, run=run)
    obligations_settle([ObligationSettlement(by_id[d.instruction.id].obligation_id,
                                             by_id[d.instruction.id].obligation_status, OBLIGATION_STATUS[d.status])
                        for d in decisions if by_id[d.instruction.id].obligation_id is not None],
                       actor=actor, reason=reason)
    _write_fails(decisions, by_id, actor=actor, reason=reason, value_date=value_date, now=now)
    outcome.decisions = decisions
    outcome.moved = len(moved)
    for d in decisions:
        if d.status == dvp.SETTLED:
            outcome.settled += 1
        elif d.status == dvp.PARTIAL:
            outcome.partial += 1
        else:
            outcome.failed += 1
    return outcome


_MOVEMENT_COLUMNS = ("id", "instruction_id", "run_id", "account_id", "instrument_id", "currency", "quantity", "cash",
                     "value_date", "settled_at")


def _write_movements(run, moved, movement_ids, *, value_date, now) -> None:
    # Audited with their instruction: its TRANSITION record names the movement with its quantity and cash.
    stamp = batch_value(now)
    insert_rows(SettlementMovement, _MOVEMENT_COLUMNS, [
        (movement_ids[d.instruction.id], d.instruction.id, run.pk, d.instruction.account_id,
         d.instruction.instrument_id, d.instruction.currency, d.signed_quantity, d.cash, value_date, stamp)
        for d in moved])


_UPDATE_INSTRUCTIONS = """
UPDATE settlements_settlementinstruction AS i
SET status = change.status, settled_quantity = change.settled_quantity, settled_cash = change.settled_cash,
    updated_at = %s, settled_at = CASE WHEN change.status = 'SETTLED' THEN %s ELSE i.settled_at END
FROM unnest(%s::bigint[], %s::text[], %s::numeric[], %s::numeric[], %s::text[])
    AS change (id, status, settled_quantity, settled_cash, from_status)
WHERE i.id = change.id AND i.status = change.from_status
RETURNING i.id
"""


def _write_instructions(decisions, by_id, movement_ids, *, run, actor, reason, now) -> None:
    changed = [d for d in decisions if d.moved or d.status != by_id[d.instruction.id].status]
    if not changed:
        return
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_INSTRUCTIONS, [
            now, now, [d.instruction.id for d in changed], [d.status for d in changed],
            [d.instruction.settled_quantity for d in changed], [d.instruction.settled_cash for d in changed],
            [by_id[d.instruction.id].status for d in changed]])
        if cursor.rowcount != len(changed):
            raise RuntimeError("settlement instructions changed under the run")
    for start in range(0, len(changed), AUDIT_BATCH):  # built and copied a batch at a time: memory stays flat
        entries = []
        for d in changed[start:start + AUDIT_BATCH]:
            row = by_id[d.instruction.id]
            after = {"settled_cash": d.instruction.settled_cash, "settled_quantity": d.instruction.settled_quantity,
                     "status": d.status}
            if d.moved:
                after["movement"] = {"id": movement_ids[d.instruction.id], "run_id": run.pk,
                                     "quantity": d.signed_quantity, "cash": d.cash}
            entries.append(AuditEntry(_INSTRUCTION, d.instruction.id, {
                "settled_cash": row.settled_cash, "settled_quantity": row.settled_quantity, "status": row.status},
                after))
        audit_log_bulk(actor=actor, action="TRANSITION", entries=entries, reason=reason)


def _signed(direction: str, quantity: Decimal) -> Decimal:
    return quantity if direction == dvp.RECEIVE else -quantity


def _write_positions(moved, by_id, *, actor, reason) -> None:
    moves: dict[tuple[int, int], SettledMove] = {}
    for d in moved:
        ins, row = d.instruction, by_id[d.instruction.id]
        before = pending_release(buy_quantity=row.buy_quantity, sell_quantity=row.sell_quantity,
                                 settled=_signed(ins.direction, row.settled_quantity), complete=False)
        after = pending_release(buy_quantity=row.buy_quantity, sell_quantity=row.sell_quantity,
                                settled=_signed(ins.direction, ins.settled_quantity), complete=d.status == dvp.SETTLED)
        moves.setdefault((ins.account_id, ins.instrument_id), SettledMove()).add(
            settled=d.signed_quantity, release_before=before, release_after=after)
    positions_settle(moves, actor=actor, reason=reason)


def _cash_of(moved, movement_ids, *, run, value_date):
    for d in moved:
        if d.cash:
            movement = movement_ids[d.instruction.id]
            yield SettlementCash(account_id=d.instruction.account_id, currency=d.instruction.currency, amount=d.cash,
                                 value_date=value_date, reference=f"STL-{movement}",
                                 description=f"Settlement of instruction {d.instruction.id} (run {run.pk})")


def _release_reservations(moved, *, actor, reason) -> None:
    """Release the cash reserved for what was paid (records/cash/reservations.py), per account and currency."""
    released: dict[tuple[int, str], Decimal] = {}
    for d in moved:
        if d.reservation_released:
            key = (d.instruction.account_id, d.instruction.currency)
            released[key] = released.get(key, Decimal(0)) - d.reservation_released
    cash_reservations_apply(released, actor=actor, reason=reason)


# The trades of the instructions whose status or settled quantity moved: an obligation's netted
# trades, or the instruction's own gross trade. Their rows are locked by trades_settle's UPDATE;
# nobody else changes a cleared trade.
_TRADES = """
SELECT n.obligation_id, NULL::bigint, t.id, t.quantity, t.status, t.settled_quantity
FROM clearing_nettedtrade AS n JOIN records_trade AS t ON t.id = n.trade_id
WHERE n.obligation_id = ANY(%s::bigint[])
UNION ALL
SELECT NULL::bigint, t.id, t.id, t.quantity, t.status, t.settled_quantity
FROM records_trade AS t WHERE t.id = ANY(%s::bigint[])
"""


def _trade_settled(ins: dvp.OpenInstruction, status: str, trade_quantity: Decimal) -> Decimal:
    """A trade's settled quantity: all of it once its instruction settled, else pro rata, cut to the unit."""
    if status == dvp.SETTLED:
        return trade_quantity
    if ins.quantity == 0 or ins.settled_quantity == 0:
        return Decimal(0)
    return min(dvp.floor_to_unit(trade_quantity * ins.settled_quantity / ins.quantity, ins.unit), trade_quantity)


def _write_trades(decisions, by_id, *, actor, reason, run) -> None:
    touched = [d for d in decisions if d.moved or d.status != by_id[d.instruction.id].status]
    by_obligation = {by_id[d.instruction.id].obligation_id: d for d in touched
                     if by_id[d.instruction.id].obligation_id is not None}
    by_trade = {by_id[d.instruction.id].trade_id: d for d in touched if by_id[d.instruction.id].trade_id is not None}
    if not by_obligation and not by_trade:
        return
    with connection.cursor() as cursor:
        cursor.execute(_TRADES, [sorted(by_obligation), sorted(by_trade)])
        trades = cursor.fetchall()
    changes = []
    for obligation_id, own_trade_id, trade_id, quantity, status, settled in trades:
        d = by_obligation[obligation_id] if obligation_id is not None else by_trade[own_trade_id]
        to_status = TRADE_STATUS[d.status]
        to_settled = _trade_settled(d.instruction, d.status, quantity)
        if (to_status, to_settled) != (status, settled):
            changes.append(TradeSettlement(trade_id, status, settled, to_status, to_settled,
                                           f"Instruction {d.instruction.id} {d.status.lower()} by settlement run "
                                           f"{run.pk}"))
    trades_settle(changes, actor=actor, reason=reason)


_FAIL_COLUMNS = ("id", "instruction_id", "kind", "cause", "failed_on", "unsettled_quantity", "regsho_basis",
                 "close_out_deadline", "closed_on", "created_at", "updated_at")
_UPDATE_FAILS = """
UPDATE settlements_settlementfail AS f
SET cause = change.cause, unsettled_quantity = change.unsettled_quantity, closed_on = change.closed_on,
    updated_at = %s
FROM unnest(%s::bigint[], %s::text[], %s::numeric[], %s::date[]) AS change (id, cause, unsettled_quantity, closed_on)
WHERE f.id = change.id
"""


def _write_fails(decisions, by_id, *, actor, reason, value_date, now) -> None:
    """A first fail opens a SettlementFail; an open one follows what is left; settling closes it."""
    new, updates = [], []
    for d in decisions:
        row, ins = by_id[d.instruction.id], d.instruction
        unsettled = ins.quantity - ins.settled_quantity
        if d.status == dvp.SETTLED:
            if row.fail_id is not None and row.fail_closed_on is None:
                updates.append((row, row.fail_cause, Decimal(0), value_date))
        elif row.fail_id is None:
            new.append((d, unsettled))
        elif row.fail_closed_on is None and (row.fail_cause, row.fail_unsettled) != (d.cause or row.fail_cause,
                                                                                      unsettled):
            updates.append((row, d.cause or row.fail_cause, unsettled, None))
    if new:
        stamp = batch_value(now)
        ids = allocate_ids(SettlementFail, len(new))
        rows, entries = [], []
        for pk, (d, unsettled) in zip(ids, new, strict=True):
            cause = d.cause or dvp.SECURITIES
            rows.append((pk, d.instruction.id, d.instruction.direction, cause, value_date, unsettled, "", None, None,
                         stamp, stamp))
            entries.append(AuditEntry(_FAIL, pk, None, {
                "id": pk, "instruction_id": d.instruction.id, "kind": d.instruction.direction, "cause": cause,
                "failed_on": value_date, "unsettled_quantity": unsettled, "regsho_basis": "",
                "close_out_deadline": None, "closed_on": None}))
        insert_rows(SettlementFail, _FAIL_COLUMNS, rows)
        audit_log_bulk(actor=actor, action="CREATE", entries=entries, reason=reason)
    if updates:
        with connection.cursor() as cursor:
            cursor.execute(_UPDATE_FAILS, [now, [row.fail_id for row, *_ in updates], [c for _, c, _, _ in updates],
                                           [u for _, _, u, _ in updates], [closed for *_, closed in updates]])
        audit_log_bulk(actor=actor, action="UPDATE", reason=reason, entries=[
            AuditEntry(_FAIL, row.fail_id,
                       {"cause": row.fail_cause, "closed_on": None, "unsettled_quantity": row.fail_unsettled},
                       {"cause": cause, "closed_on": closed, "unsettled_quantity": unsettled})
            for row, cause, unsettled, closed in updates])


_COUNT = """
UPDATE settlements_settlementrun SET settled = settled + %s, partial = partial + %s, failed = failed + %s
WHERE id = %s RETURNING settled, partial, failed
"""


def _count(run: SettlementRun, outcome: _Outcome, *, actor) -> None:
    """Add the chunk's counts to the run (added, so concurrent chunks never overwrite each other); audited."""
    if not (outcome.settled or outcome.partial or outcome.failed):
        return
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, [outcome.settled, outcome.partial, outcome.failed, run.pk])
        settled, partial, failed = cursor.fetchone()
    audit_log(actor=actor, action="UPDATE", record_type=_RUN, record_id=run.pk,
              before={"failed": failed - outcome.failed, "partial": partial - outcome.partial,
                      "settled": settled - outcome.settled},
              after={"failed": failed, "partial": partial, "settled": settled},
              reason=f"counts of the instructions the run took ({outcome.moved} moved)")


# --- one instruction at a time ---

def _lock_instruction(instruction_id: int) -> SettlementInstruction:
    instruction = SettlementInstruction.objects.select_for_update(of=("self",)).filter(pk=instruction_id).first()
    if instruction is None:
        raise BusinessRuleError("Settlement instruction not found.", field="instruction")
    return instruction


def _confirmations_run(day: date, *, actor) -> SettlementRun:
    """The day's container of confirmed settlements (a completed job of kind settlement-confirmations)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_CONFIRM_LOCK, day.toordinal()])
    run = confirmations_run_get(settlement_date=day)
    if run is not None:
        return run
    job = job_create(kind=CONFIRMATIONS, params={"settlement_date": day.isoformat()}, started_by=actor)
    # No steps: executing it only marks it completed, so it is never taken for an active run.
    job_run_execute(job_id=job.pk)
    run = SettlementRun.objects.create(settlement_date=day, job=job)
    audit_log(actor=actor, action="CREATE", instance=job, after=snapshot(job), reason=f"settlement run {run.pk}")
    audit_log(actor=actor, action="CREATE", instance=run, after=snapshot(run),
              reason=f"instructions the depository confirmed settled on {day.isoformat()}")
    return run


@transaction.atomic
def instruction_settle_confirmed(*, actor, instruction_id: int, reason: str,
                                 settled_on: date | None = None) -> SettlementInstruction:
    """Settle what is left of one instruction because the depository reports it settled (a status message).

    The depository is the record of what moved: all that is left settles, even where our position
    or cash would not have covered it (the difference then shows in the stock record or cash to be
    investigated). Same writes as a run's (movement, positions, cash, trades, obligation, fail
    closed, audit), in the day's container run of confirmations (settled_on, default today). A
    no-op for an instruction already SETTLED; ConflictError for one HELD or CANCELLED.
    """
    if not (reason or "").strip():
        raise BusinessRuleError("A reason is required.", field="reason")
    instruction = _lock_instruction(instruction_id)
    if instruction.status == SettlementInstruction.Status.SETTLED:
        return instruction
    if instruction.status not in OPEN:
        raise ConflictError(f"Instruction {instruction.pk} is {instruction.status}: it cannot settle.")
    day = settled_on or timezone.localdate()
    run = _confirmations_run(day, actor=actor)
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_INSTRUCTIONS.format(where="i.id = %(id)s::bigint"), {"id": instruction.pk, "run": run.pk})
        rows = _rows(cursor)
    if not rows:
        raise ConflictError(f"Instruction {instruction.pk} was already settled by run {run.pk}.")
    outcome = _settle(run, rows, actor=actor, value_date=day, reason=reason, confirmed=True)
    _count(run, outcome, actor=actor)
    instruction.refresh_from_db()
    return instruction


@transaction.atomic
def instruction_cancel(*, actor, instruction_id: int, reason: str) -> SettlementInstruction:
    """Cancel an instruction not settled yet (what a partial settled stays settled); its open fail is closed.

    The cash still reserved for its payment is released. The obligation and its trades are left as
    they are, to be instructed again or closed out. A no-op for an instruction already CANCELLED;
    ConflictError for one SETTLED.
    """
    if not (reason or "").strip():
        raise BusinessRuleError("A reason is required.", field="reason")
    instruction = _lock_instruction(instruction_id)
    if instruction.status == SettlementInstruction.Status.CANCELLED:
        return instruction
    if instruction.status == SettlementInstruction.Status.SETTLED:
        raise ConflictError(f"Instruction {instruction.pk} is SETTLED: it can no longer be cancelled.")
    before = snapshot(instruction)
    instruction.status = SettlementInstruction.Status.CANCELLED
    instruction.updated_at = timezone.now()
    instruction.save(update_fields=["status", "updated_at"])
    audit_log(actor=actor, action="TRANSITION", instance=instruction, before=before, after=snapshot(instruction),
              reason=reason)
    cash_reservations_apply({(instruction.account_id, instruction.currency): -_reserved_for(instruction)},
                            actor=actor, reason=f"instruction {instruction.pk} cancelled: {reason}")
    fail = SettlementFail.objects.select_for_update().filter(instruction=instruction, closed_on=None).first()
    if fail is not None:
        before = snapshot(fail)
        fail.closed_on = timezone.localdate()
        fail.updated_at = timezone.now()
        fail.save(update_fields=["closed_on", "updated_at"])
        audit_log(actor=actor, action="UPDATE", instance=fail, before=before, after=snapshot(fail),
                  reason=f"instruction cancelled: {reason}")
    return instruction
