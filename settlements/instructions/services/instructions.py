"""Settlement instructions: created from a clearing run's obligations (or a gross trade), adjusted before settlement.

DESIGN.md §6. The clearing run's job (kind clearing-netting) ends with step "instruct"
(settlements/instructions/jobs.py, appended through settings.JOB_STEP_EXTENSIONS), one chunk per
instrument range of the netting (the ranges its step "net" worked in, so a chunk holds the obligations
of at most one netting chunk's trades and a worker's memory stays flat however big the date: one chunk
for the whole run held every instruction of a million-trade date in memory at once). Each chunk is
instructions_create_for_clearing_run: one set-based statement in the chunk's transaction

1. moves the run's OPEN obligations that have no instruction to INSTRUCTED (the UPDATE's WHERE is
   the guard: a rerun, or a chunk redelivered after it committed, finds nothing OPEN), and
2. inserts one instruction per obligation moved (ON CONFLICT on the obligation does nothing: one
   instruction per obligation, whatever the retries),

then the audit records in bulk (a CREATE per instruction, a TRANSITION per obligation) and the cash
reserved for the instructions that pay (records.cash.reservations). Like netting, which moves
records' trades in its own statement, this statement moves clearing's obligations itself: one pass
over the rows, not a service call per obligation.

What an obligation becomes:
- direction: net quantity > 0, RECEIVE; < 0, DELIVER; quantity = |net quantity|;
- payment: APMT (against payment) when net cash is not zero, FREE (free of payment) when it is;
- a payment only (net quantity 0, net cash not 0) is instructed with quantity 0, APMT, and the
  direction a DVP with that cash flow has: DELIVER when the account receives the cash, RECEIVE when
  it pays (ISO 20022 calls it payment free of delivery). A flat obligation (both 0) is a DELIVER of
  0, FREE: nothing moves, and the settlement run closes it with its trades;
- cash_amount is the obligation's net cash, signed from the account's side (+ receives);
- allow_partial: the account's allow_partial_settlement;
- SSI: the settlement counterparty's SSI for the instrument's market effective on the settlement
  date, else its SSI for any market (market null); among several, the one that started last
  (SSI_FOR below, selectors.ssi_covering). None: the instruction is HELD with hold_reason
  "no standing settlement instruction for <counterparty> in <market>"; approving an SSI that
  covers it makes it PENDING (instructions_ssi_refresh).

Cash: an instruction that pays (cash_amount < 0, APMT) reserves |cash_amount| on the account's
balance in its currency, held or not (the debt is real either way); the settlement run releases
it as the cash leaves (cash_reservations_apply with a negative delta).
"""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import InputError, parse_text
from backoffice.core.jobs.models import JobRun
from clearing.models import NettedTrade
from clearing.netting.selectors import clearing_run_of_job
from clearing.netting.services import instrument_ranges
from records.audit.services.audit import (
    Actor,
    AuditEntry,
    CanonicalJSON,
    actor_fields,
    audit_log,
    audit_log_bulk,
    snapshot,
)
from records.cash.reservations import cash_reservations_apply
from records.trades.models import Trade, TradeEvent
from settlements.instructions.selectors import (
    ALLOW_PARTIAL_LOCKED,
    COUNTERPARTY_FAIL_LOCKED,
    NO_SSI,
    instruction_of_trade,
    ssi_covering,
)
from settlements.models import SettlementInstruction

Status = SettlementInstruction.Status
Direction = SettlementInstruction.Direction
Payment = SettlementInstruction.Payment

INSTRUCTION = "settlements.settlementinstruction"
_OBLIGATION = "clearing.obligation"
_TRADE = "records.trade"
_BEFORE_INSTRUCTED = CanonicalJSON('{"status":"OPEN"}')
# Audit records built and copied this many at a time, so a chunk's memory stays flat.
AUDIT_BATCH = 20_000
_EVERY_INSTRUMENT = (0, 2**63 - 1)
_CENTS = Decimal("0.0001")  # the amount field's places

# The SSI an instruction settles under, given its counterparty ({cpty}), the id of its instrument's
# market ({market}) and its settlement date ({day}): see the module docstring.
SSI_FOR = """
LEFT JOIN LATERAL (
    SELECT s.id FROM settlements_standingsettlementinstruction AS s
    WHERE s.counterparty_id = {cpty} AND (s.market_id = {market} OR s.market_id IS NULL)
      AND s.effective_from <= {day} AND (s.effective_to IS NULL OR s.effective_to >= {day})
    ORDER BY s.market_id IS NULL, s.effective_from DESC
    LIMIT 1
) AS ssi ON TRUE
"""

_HOLD_REASON = ("CASE WHEN ssi.id IS NULL THEN 'no standing settlement instruction for ' || c.code || ' in ' "
                "|| m.mic ELSE '' END")

# The columns an instruction's CREATE audit record holds (snapshot: every field but the timestamps).
_INSTRUCTION_FIELDS = ("id", "obligation_id", "trade_id", "account_id", "counterparty_id", "instrument_id",
                       "settlement_date", "direction", "payment", "quantity", "cash_amount", "currency",
                       "settled_quantity", "settled_cash", "allow_partial", "ssi_id", "status", "hold_reason",
                       "counterparty_failed_at", "counterparty_fail_reason", "settled_at")

_INSTRUCT_TEMPLATE = """
WITH candidate AS (
    SELECT o.id, o.account_id, o.counterparty_id, o.instrument_id, o.settlement_date, o.currency, o.net_quantity,
           o.net_cash, a.allow_partial_settlement, ssi.id AS ssi_id, {hold_reason} AS hold_reason
    FROM clearing_obligation AS o
    JOIN records_account AS a ON a.id = o.account_id
    JOIN records_counterparty AS c ON c.id = o.counterparty_id
    JOIN records_instrument AS i ON i.id = o.instrument_id
    JOIN records_market AS m ON m.mic = i.market_id
    {ssi_for}
    WHERE o.run_id = %(run)s::bigint AND o.status = 'OPEN'
      AND o.instrument_id >= %(low)s::bigint AND o.instrument_id < %(high)s::bigint
      AND NOT EXISTS (SELECT 1 FROM settlements_settlementinstruction AS s WHERE s.obligation_id = o.id)
), moved AS (
    UPDATE clearing_obligation AS o SET status = 'INSTRUCTED'
    FROM candidate
    WHERE o.id = candidate.id AND o.status = 'OPEN'
    RETURNING candidate.*
), instruction AS (
    INSERT INTO settlements_settlementinstruction (
        obligation_id, account_id, counterparty_id, instrument_id, settlement_date, direction, payment, quantity,
        cash_amount, currency, settled_quantity, settled_cash, allow_partial, ssi_id, status, hold_reason,
        counterparty_fail_reason, created_at, updated_at)
    SELECT id, account_id, counterparty_id, instrument_id, settlement_date,
           CASE WHEN net_quantity > 0 THEN 'RECEIVE' WHEN net_quantity < 0 THEN 'DELIVER'
                WHEN net_cash < 0 THEN 'RECEIVE' ELSE 'DELIVER' END,
           CASE WHEN net_cash = 0 THEN 'FREE' ELSE 'APMT' END,
           abs(net_quantity), net_cash, currency, 0, 0, allow_partial_settlement, ssi_id,
           CASE WHEN ssi_id IS NULL THEN 'HELD' ELSE 'PENDING' END, hold_reason, '',
           %(now)s::timestamptz, %(now)s::timestamptz
    FROM moved
    ORDER BY id
    ON CONFLICT (obligation_id) DO NOTHING
    RETURNING {fields}
)
SELECT {fields} FROM instruction ORDER BY id
"""
_INSTRUCT_SQL = _INSTRUCT_TEMPLATE.format(
    hold_reason=_HOLD_REASON, fields=", ".join(_INSTRUCTION_FIELDS),
    ssi_for=SSI_FOR.format(cpty="o.counterparty_id", market="m.id", day="o.settlement_date"))


def _actor_of_job(job: JobRun):
    return job.started_by if job.started_by_id is not None else f"job:{job.kind}"


def _reserve(rows, *, actor: Actor, reason: str) -> int:
    """Reserve the cash of the instructions that pay. rows: (account_id, currency, payment, cash_amount)."""
    deltas: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for account_id, currency, payment, cash_amount in rows:
        if payment == Payment.AGAINST and cash_amount < 0:
            deltas[(account_id, currency)] -= cash_amount
    return cash_reservations_apply(deltas, actor=actor, reason=reason)


@transaction.atomic
def instructions_create_for_clearing_run(*, job: JobRun, index: int | None = None) -> dict:
    """Instruct every OPEN obligation of the job's clearing run that has none yet; return what it did.

    index: the chunk of step "instruct", the obligations of the netting's instrument range `index`
    (clearing.netting.services.instrument_ranges); None: every instrument. In the chunk's transaction.
    Idempotent: a second call, or a rerun of the date, creates nothing twice (see the module docstring).
    The chunks of a run may run at once on several workers: their obligations are disjoint; they
    meet only on the cash balances they reserve on, taken in (account, currency) order.
    """
    run = clearing_run_of_job(job)
    if run is None:
        raise BusinessRuleError(f"Job {job.pk} executes no clearing run: nothing to instruct.")
    low, high = _EVERY_INSTRUMENT if index is None else instrument_ranges(job.parameters)[index]
    actor = _actor_of_job(job)
    reason = f"instructed after clearing run {run.pk}"
    created, held = 0, 0
    payers = []
    with connection.cursor() as cursor:
        cursor.execute(_INSTRUCT_SQL, {"run": run.pk, "now": timezone.now(), "low": low, "high": high})
        while rows := cursor.fetchmany(AUDIT_BATCH):
            entries, moved = [], []
            for row in rows:
                values = dict(zip(_INSTRUCTION_FIELDS, row, strict=True))
                entries.append(AuditEntry(INSTRUCTION, values["id"], None, values))
                moved.append(AuditEntry(_OBLIGATION, values["obligation_id"], _BEFORE_INSTRUCTED, CanonicalJSON(
                    f'{{"instruction_id":{values["id"]:d},"status":"INSTRUCTED"}}')))
                payers.append((values["account_id"], values["currency"], values["payment"], values["cash_amount"]))
                held += values["status"] == Status.HELD
            created += len(entries)
            audit_log_bulk(actor=actor, action="CREATE", entries=entries, reason=reason)
            audit_log_bulk(actor=actor, action="TRANSITION", entries=moved, reason=reason)
    _reserve(payers, actor=actor, reason=reason)
    return {"rows": created, "clearing_run": run.pk, "instructions": created, "held": held}


def _cash_of(side: str, quantity: Decimal, price: Decimal) -> Decimal:
    """The cash of a gross trade, signed from the account's side, exact then rounded once to four places
    (half away from zero), as netting rounds an obligation's net cash."""
    with localcontext() as context:
        context.prec = 80  # quantity (24,6) times price (24,8): exact
        value = quantity * price
        if value.as_tuple().exponent < -4:
            value = value.quantize(_CENTS, rounding=ROUND_HALF_UP)
    return value if side == Trade.Side.SELL else -value


@transaction.atomic
def instruction_create_for_trade(*, actor: Actor, trade_id: int, reason: str = "") -> SettlementInstruction:
    """Instruct one gross trade, one not netted: a RECEIVE for a buy, a DELIVER for a sell, against payment.

    The trade must be BOOKED, not netted, and matched where its counterparty requires matching (as
    netting requires); ConflictError otherwise. It moves to CLEARED (with a CLEAR event), so netting never
    nets it as well and capture refuses to amend or cancel it. Idempotent: a trade already instructed
    returns its instruction. The settlement counterparty is the CCP the counterparty clears through,
    else the counterparty; allow_partial, the SSI, a hold and the cash reserved as for an obligation.
    """
    trade = (Trade.objects.select_for_update(of=("self",))
             .select_related("account", "counterparty", "counterparty__clears_through", "instrument")
             .filter(pk=trade_id).first())
    if trade is None:
        raise BusinessRuleError(f"Unknown trade {trade_id}.", field="trade")
    existing = instruction_of_trade(trade.pk)
    if existing is not None:
        return existing
    if trade.status != Trade.Status.BOOKED:
        raise ConflictError(f"Trade {trade.pk} is {trade.get_status_display().lower()}: only a booked trade is "
                            "instructed gross.")
    if NettedTrade.objects.filter(trade_id=trade.pk).exists():
        raise ConflictError(f"Trade {trade.pk} is netted: its obligation is instructed instead.")
    if trade.counterparty.requires_matching and trade.match_status != Trade.MatchStatus.MATCHED:
        raise ConflictError(f"Trade {trade.pk} is {trade.get_match_status_display().lower()}: "
                            f"{trade.counterparty.code} requires a matched confirmation before it settles.")
    counterparty = trade.counterparty.clears_through or trade.counterparty
    counterparty_id = counterparty.pk
    ssi = ssi_covering(counterparty_id=counterparty_id, market_mic=trade.instrument.market_id,
                       day=trade.settlement_date)
    cash = _cash_of(trade.side, trade.quantity, trade.price)
    now = timezone.now()
    hold_reason = "" if ssi is not None else NO_SSI.format(counterparty=counterparty.code,
                                                            market=trade.instrument.market_id)
    instruction = SettlementInstruction.objects.create(
        trade=trade, account_id=trade.account_id, counterparty_id=counterparty_id, instrument_id=trade.instrument_id,
        settlement_date=trade.settlement_date,
        direction=Direction.RECEIVE if trade.side == Trade.Side.BUY else Direction.DELIVER,
        payment=Payment.AGAINST if cash else Payment.FREE, quantity=trade.quantity, cash_amount=cash,
        currency=trade.currency, allow_partial=trade.account.allow_partial_settlement, ssi=ssi,
        status=Status.PENDING if ssi is not None else Status.HELD, hold_reason=hold_reason,
        created_at=now, updated_at=now)
    reason = reason or f"gross trade {trade.pk} instructed"
    audit_log(actor=actor, action="CREATE", instance=instruction, after=snapshot(instruction), reason=reason)
    Trade.objects.filter(pk=trade.pk).update(status=Trade.Status.CLEARED, updated_at=now)
    user, label = actor_fields(actor)
    TradeEvent.objects.create(trade=trade, at=now, actor=user, actor_label=label, action=TradeEvent.Action.CLEAR,
                              from_status=Trade.Status.BOOKED, to_status=Trade.Status.CLEARED,
                              reason=f"Instructed gross as settlement instruction {instruction.pk}")
    audit_log(actor=actor, action="TRANSITION", record_type=_TRADE, record_id=trade.pk,
              before={"status": Trade.Status.BOOKED},
              after={"instruction_id": instruction.pk, "status": Trade.Status.CLEARED}, reason=reason)
    _reserve([(instruction.account_id, instruction.currency, instruction.payment, instruction.cash_amount)],
             actor=actor, reason=reason)
    return instruction


def _lock(instruction_id: int) -> SettlementInstruction:
    """Return the instruction, locked. Call inside an atomic block."""
    instruction = SettlementInstruction.objects.select_for_update().filter(pk=instruction_id).first()
    if instruction is None:
        raise BusinessRuleError(f"Unknown settlement instruction {instruction_id}.", field="instruction")
    return instruction


@transaction.atomic
def instruction_allow_partial_set(*, actor: Actor, instruction_id: int, allow_partial: bool,
                                  reason: str = "") -> SettlementInstruction:
    """Allow (or forbid) settling the instruction in part, before it settles. Takes effect at once, audited.

    ConflictError once it settled, in part or in whole, or was cancelled. Setting what is already set
    changes nothing and writes nothing.
    """
    if not isinstance(allow_partial, bool):
        raise BusinessRuleError("Must be true or false.", field="allow_partial")
    instruction = _lock(instruction_id)
    if instruction.status in ALLOW_PARTIAL_LOCKED:
        raise ConflictError(f"Instruction {instruction.pk} is {instruction.get_status_display().lower()}: "
                            "allow-partial can only change before it settles.")
    if instruction.allow_partial == allow_partial:
        return instruction
    before = snapshot(instruction)
    instruction.allow_partial = allow_partial
    instruction.updated_at = timezone.now()
    instruction.save(update_fields=["allow_partial", "updated_at"])
    audit_log(actor=actor, action="UPDATE", instance=instruction, before=before, after=snapshot(instruction),
              reason=reason or ("partial settlement allowed" if allow_partial else "partial settlement forbidden"))
    return instruction


@transaction.atomic
def instruction_counterparty_fail(*, actor: Actor, instruction_id: int, reason) -> SettlementInstruction:
    """Record that the counterparty failed to deliver or to pay: the instruction does not settle until it is
    cleared (DESIGN.md §6). Takes effect at once, audited; recording it again replaces the time and reason.

    ConflictError on a settled or cancelled instruction; BusinessRuleError without a reason.
    """
    try:
        text = parse_text(reason, max_length=200)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field="reason") from None
    instruction = _lock(instruction_id)
    if instruction.status in COUNTERPARTY_FAIL_LOCKED:
        raise ConflictError(f"Instruction {instruction.pk} is {instruction.get_status_display().lower()}: "
                            "a counterparty's failure can only be recorded before it settles.")
    before = snapshot(instruction)
    instruction.counterparty_failed_at = instruction.updated_at = timezone.now()
    instruction.counterparty_fail_reason = text
    instruction.save(update_fields=["counterparty_failed_at", "counterparty_fail_reason", "updated_at"])
    audit_log(actor=actor, action="UPDATE", instance=instruction, before=before, after=snapshot(instruction),
              reason=f"counterparty failed: {text}")
    return instruction


# Every HELD or PENDING instruction of the counterparty whose SSI is no longer the one that covers it:
# re-pointed, released (HELD -> PENDING) or held (PENDING -> HELD, its SSI ended). One statement.
_REFRESH_TEMPLATE = """
WITH target AS (
    SELECT si.id, si.status AS old_status, si.ssi_id AS old_ssi, si.hold_reason AS old_reason,
           ssi.id AS new_ssi, {hold_reason} AS new_reason
    FROM settlements_settlementinstruction AS si
    JOIN records_counterparty AS c ON c.id = si.counterparty_id
    JOIN records_instrument AS i ON i.id = si.instrument_id
    JOIN records_market AS m ON m.mic = i.market_id
    {ssi_for}
    WHERE si.counterparty_id = %(counterparty)s::bigint AND si.status IN ('HELD', 'PENDING')
      AND si.ssi_id IS DISTINCT FROM ssi.id
    ORDER BY si.id
    FOR UPDATE OF si
)
UPDATE settlements_settlementinstruction AS si
SET ssi_id = target.new_ssi, hold_reason = target.new_reason, updated_at = %(now)s::timestamptz,
    status = CASE WHEN target.new_ssi IS NULL THEN 'HELD' ELSE 'PENDING' END
FROM target
WHERE si.id = target.id AND si.status IN ('HELD', 'PENDING')
RETURNING si.id, target.old_status, target.old_ssi, target.old_reason, si.status, si.ssi_id, si.hold_reason
"""
_REFRESH_SQL = _REFRESH_TEMPLATE.format(
    hold_reason=_HOLD_REASON,
    ssi_for=SSI_FOR.format(cpty="si.counterparty_id", market="m.id", day="si.settlement_date"))


def _ssi_state(status: str, ssi_id: int | None, hold_reason: str) -> dict:
    return {"hold_reason": hold_reason, "ssi_id": ssi_id, "status": status}


@transaction.atomic
def instructions_ssi_refresh(*, actor: Actor, counterparty_id: int, reason: str = "") -> dict:
    """Point the counterparty's HELD and PENDING instructions at the SSI that now covers each; return the counts.

    Called when an SSI of the counterparty is created or changed (approved under maker-checker): a
    HELD instruction it now covers becomes PENDING; a PENDING one whose SSI no longer covers it is
    re-pointed to the one that does, or HELD when none does. Set-based, one statement; a TRANSITION
    audit record per status changed and an UPDATE per instruction only re-pointed.
    """
    with connection.cursor() as cursor:
        cursor.execute(_REFRESH_SQL, {"counterparty": counterparty_id, "now": timezone.now()})
        rows = cursor.fetchall()
    transitions, updates = [], []
    for pk, old_status, old_ssi, old_reason, status, ssi_id, hold_reason in sorted(rows):
        entry = AuditEntry(INSTRUCTION, pk, _ssi_state(old_status, old_ssi, old_reason),
                           _ssi_state(status, ssi_id, hold_reason))
        (transitions if status != old_status else updates).append(entry)
    reason = reason or "standing settlement instructions changed"
    audit_log_bulk(actor=actor, action="TRANSITION", entries=transitions, reason=reason)
    audit_log_bulk(actor=actor, action="UPDATE", entries=updates, reason=reason)
    released = sum(1 for row in rows if row[1] == Status.HELD and row[4] == Status.PENDING)
    held = sum(1 for row in rows if row[1] == Status.PENDING and row[4] == Status.HELD)
    return {"released": released, "held": held, "repointed": len(updates)}
