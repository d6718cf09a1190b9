"""Writes of settlements' fails: daily CSDR cash penalties, Reg SHO bases and close-out deadlines.

Penalties (DESIGN.md §6): a job of kind fail-penalties (settlements/fails/jobs.py) per date accrues
one FailPenalty per fail open that day, for each fail whose instrument's market settles that day:
the rate (PenaltyRate of the asset class and type of fail, the one effective that day) times the
reference value of the unsettled part, rounded half up to the currency's minor unit.

* Type of fail (rules.penalty_fail_type): SECURITIES for a lack of securities and a counterparty's
  failure to deliver to us; CASH for a lack of cash (ours, or the counterparty's on our delivery).
* Reference value: SECURITIES, the unsettled quantity times the day's closing price (the latest
  records Price on or before the date, in the instruction's currency); CASH, the unsettled cash
  (|cash_amount - settled_cash|), kept as its price per unsettled unit in reference_price.
* One set-based statement per chunk (a range of fail ids, fixed when the run is created):
  INSERT ... SELECT ... ON CONFLICT (fail, penalty_date) DO NOTHING RETURNING, then the audit
  records of the rows it inserted, in bulk. A rerun of a date inserts nothing and audits nothing.
  A fail without a price (or its asset class without a rate) that day gets no penalty; the chunk
  counts it as unpriced.

Reg SHO: the job's first step gives every fail to deliver of a US equity security that has no basis
yet the basis LONG (there is no short-sale marking on trades yet) and its Rule 204 close-out
deadline; operations change the basis (fail_regsho_basis_set) and the deadline follows.
"""

from datetime import date, timedelta
from itertools import pairwise

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import InputError, date_param, format_decimal, parse_text
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_start
from clearing.models import NettedTrade
from records.audit.services.audit import AuditEntry, audit_log, audit_log_bulk, snapshot
from records.reference import selectors as reference_selectors
from records.reference.models import Market
from records.reference.services.calendar import is_settlement_day
from records.reference.validators import currency_exponent, iso4217_codes
from settlements.fails import rules
from settlements.fails.selectors import fail_open_bounds
from settlements.models import SettlementFail, SettlementInstruction

FAIL_PENALTIES = "fail-penalties"
# A chunk of step "accrue" holds about this many open fails (counted when the run is created).
FAILS_PER_CHUNK = 50_000
MAX_CHUNKS = 1_000
# Fail ids are bigint: the open ends of the first and last ranges.
LOWEST, HIGHEST = 0, 2**63 - 1
# Audit records built and copied this many at a time.
AUDIT_BATCH = 20_000
# Unpriced fails named in a chunk's result (the rest only counted).
UNPRICED_SHOWN = 20
# How far back previous_penalty_day looks for a day some market settled (three weeks without one: a bug).
_LOOK_BACK_DAYS = 21

_FAIL = "settlements.settlementfail"
_PENALTY = "settlements.failpenalty"


# --- dates and parameters ---

def settling_markets(day: date) -> list[Market]:
    """Return the markets whose settlement system settles on day: the fails that accrue a penalty then."""
    return [market for market in reference_selectors.market_list() if is_settlement_day(market=market, day=day)]


def previous_penalty_day(before: date) -> date:
    """Return the last day before `before` on which some market settles: the day whose penalties are due then."""
    day = before
    for _ in range(_LOOK_BACK_DAYS):
        day -= timedelta(days=1)
        if settling_markets(day):
            return day
    raise LookupError(f"No market settled in the {_LOOK_BACK_DAYS} days before {before}.")


def penalty_date_parse(value) -> date:
    """Return the date to accrue, or raise BusinessRuleError on "date".

    A date (or YYYY-MM-DD text) before today, on which at least one market settles. Not today: a fail
    may still settle today (a depository's status message closes it with today's date), and a day
    settled is a day without penalty, so a day's penalties are known once it is over.
    """
    day = date_param(value, field="date")
    if day >= timezone.localdate():
        raise BusinessRuleError(f"{day.isoformat()} is not over yet: a day's penalties accrue once it has ended "
                                "(a fail may still settle that day).", field="date")
    if not settling_markets(day):
        raise BusinessRuleError(f"{day.isoformat()} is not a settlement day of any market.", field="date")
    return day


def fail_penalties_parameters(parameters: dict) -> dict:
    """Validate a run's parameters and fix its chunks: {date, fail_bounds}. The job kind's parse.

    fail_bounds (the fail ids at which a chunk starts) are cut from the fails open on the date,
    FAILS_PER_CHUNK to a chunk, when absent; given (a rerun), they are checked and kept.
    """
    day = penalty_date_parse(parameters.get("date"))
    bounds = parameters.get("fail_bounds")
    if bounds is None:
        bounds = fail_open_bounds(as_of=day, per_chunk=FAILS_PER_CHUNK)[:MAX_CHUNKS - 1]
    elif (not isinstance(bounds, list) or len(bounds) >= MAX_CHUNKS
          or any(isinstance(b, bool) or not isinstance(b, int) or b <= LOWEST for b in bounds)
          or any(a >= b for a, b in pairwise(bounds))):
        raise BusinessRuleError("Give increasing fail ids.", field="fail_bounds")
    return {"date": day.isoformat(), "fail_bounds": list(bounds)}


def fail_ranges(parameters: dict) -> list[tuple[int, int]]:
    """The [low, high) fail ids of each chunk of step accrue, the first and last open-ended."""
    edges = [LOWEST, *parameters.get("fail_bounds", []), HIGHEST]
    return list(pairwise(edges))


# --- starting a run ---

def _actor_of(started_by):
    return started_by if started_by is not None else f"job:{FAIL_PENALTIES}"


@transaction.atomic
def fail_penalties_create(*, penalty_date, started_by, task_id: str = "") -> JobRun:
    """Record a QUEUED fail-penalties run of the date (audited); enqueue nothing (the caller executes it).

    With task_id (the beat task creating it), a redelivered task gets the run it created.
    Raises BusinessRuleError on "date" for a date to come or on which no market settles.
    """
    if task_id:
        existing = JobRun.objects.filter(task_id=task_id).first()
        if existing is not None:
            return existing
    job = job_create(kind=FAIL_PENALTIES, params={"date": penalty_date_parse(penalty_date).isoformat()},
                     started_by=started_by, task_id=task_id)
    audit_log(actor=_actor_of(started_by), action="CREATE", instance=job, after=snapshot(job),
              reason=f"fail penalties of {job.parameters['date']}")
    return job


@transaction.atomic
def fail_penalties_start(*, penalty_date, started_by) -> JobRun:
    """Record a fail-penalties run of the date (audited) and queue it once this commits.

    The one way the API, the fails page and `manage.py run_job fail-penalties` start it.
    """
    job = job_start(kind=FAIL_PENALTIES, params={"date": penalty_date_parse(penalty_date).isoformat()},
                    started_by=started_by)
    audit_log(actor=_actor_of(started_by), action="CREATE", instance=job, after=snapshot(job),
              reason=f"fail penalties of {job.parameters['date']}")
    return job


# --- Reg SHO ---

# The fails to deliver of US equity securities that have no Reg SHO basis yet, with what their
# deadline needs: the trade date is the gross trade's, or the earliest of an obligation's trades
# (the earliest Rule 144 deadline), else the settlement date.
_REGSHO_CANDIDATES_SQL = """
SELECT f.id, i.market_id, si.settlement_date,
       COALESCE(t.trade_date,
                (SELECT min(tr.trade_date) FROM clearing_nettedtrade AS n JOIN records_trade AS tr ON tr.id = n.trade_id
                 WHERE n.obligation_id = si.obligation_id),
                si.settlement_date)
FROM settlements_settlementfail AS f
JOIN settlements_settlementinstruction AS si ON si.id = f.instruction_id
JOIN records_instrument AS i ON i.id = si.instrument_id
JOIN records_market AS m ON m.mic = i.market_id
LEFT JOIN records_trade AS t ON t.id = si.trade_id
WHERE f.regsho_basis = '' AND f.close_out_deadline IS NULL AND f.kind = 'DELIVER'
  AND m.settlement_calendar = 'DTC' AND i.asset_class = ANY(%(classes)s) AND f.failed_on <= %(day)s::date
ORDER BY f.id
"""

# The basis and deadline set where still missing: the WHERE is the guard (a basis operations set meanwhile stays).
_REGSHO_FILL_SQL = """
UPDATE settlements_settlementfail AS f
SET regsho_basis = %(basis)s, close_out_deadline = v.deadline, updated_at = %(now)s::timestamptz
FROM unnest(%(ids)s::bigint[], %(deadlines)s::date[]) AS v(id, deadline)
WHERE f.id = v.id AND f.regsho_basis = '' AND f.close_out_deadline IS NULL
RETURNING f.id, f.close_out_deadline
"""


@transaction.atomic
def fail_regsho_fill(*, as_of: date, actor) -> dict:
    """Give the fails to deliver of US equity securities that failed by as_of and have no Reg SHO basis the
    basis LONG and its Rule 204 close-out deadline (audited); return how many. Idempotent."""
    markets = {market.mic: market for market in reference_selectors.market_list()}
    with connection.cursor() as cursor:
        cursor.execute(_REGSHO_CANDIDATES_SQL, {"classes": list(rules.REGSHO_ASSET_CLASSES), "day": as_of})
        candidates = cursor.fetchall()
        if not candidates:
            return {"rows": 0, "regsho_filled": 0}
        deadlines = [rules.close_out_deadline(basis=rules.LONG, market=markets[mic], settlement_date=settlement_date,
                                              trade_date=trade_date)
                     for _id, mic, settlement_date, trade_date in candidates]
        cursor.execute(_REGSHO_FILL_SQL, {"basis": rules.LONG, "now": timezone.now(),
                                          "ids": [row[0] for row in candidates], "deadlines": deadlines})
        filled = sorted(cursor.fetchall())
    audit_log_bulk(actor=actor, action="UPDATE", reason="Reg SHO basis by default: long sale (Rule 204(a)(1))",
                   entries=[AuditEntry(_FAIL, fail_id, {"close_out_deadline": None, "regsho_basis": ""},
                                       {"close_out_deadline": deadline.isoformat(), "regsho_basis": rules.LONG})
                            for fail_id, deadline in filled])
    return {"rows": len(filled), "regsho_filled": len(filled)}


def instruction_trade_date(instruction: SettlementInstruction) -> date:
    """Return the trade date behind an instruction: its gross trade's, the earliest of its obligation's trades,
    or (neither known) its settlement date."""
    if instruction.trade_id is not None:
        return instruction.trade.trade_date
    if instruction.obligation_id is not None:
        earliest = NettedTrade.objects.filter(obligation_id=instruction.obligation_id).aggregate(
            day=Min("trade__trade_date"))["day"]
        if earliest is not None:
            return earliest
    return instruction.settlement_date


@transaction.atomic
def fail_regsho_basis_set(*, actor, fail_id: int, basis: str, reason: str) -> SettlementFail:
    """Set a fail to deliver's Reg SHO basis (SHORT, LONG, RULE_144) and recompute its close-out deadline.

    Operations' decision, effective at once and audited with its reason. Raises BusinessRuleError for
    an unknown basis, a missing reason, or a fail Rule 204 does not reach (a fail to receive, a market
    outside the US, a bond); ConflictError for a closed fail or one that does not exist. Setting the
    basis it has changes nothing.
    """
    if basis not in rules.REGSHO_BASES:
        raise BusinessRuleError(f"Give one of {', '.join(rules.REGSHO_BASES)}.", field="regsho_basis")
    try:
        reason = parse_text(reason, max_length=500)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field="reason") from None
    fail = (SettlementFail.objects.select_for_update(of=("self",))
            .select_related("instruction__instrument__market", "instruction__trade").filter(pk=fail_id).first())
    if fail is None:
        raise ConflictError(f"No fail {fail_id}.")
    if fail.closed_on is not None:
        raise ConflictError(f"Fail {fail.pk} was closed on {fail.closed_on.isoformat()}: its close-out is over.")
    instruction = fail.instruction
    instrument = instruction.instrument
    if not rules.regsho_applies(market=instrument.market, asset_class=instrument.asset_class, kind=fail.kind):
        raise BusinessRuleError(
            "Rule 204 close-out applies to fails to deliver equity securities settling at DTC only; this is a "
            f"{fail.get_kind_display().lower()} of {instrument.get_asset_class_display().lower()} "
            f"{instrument.isin} ({instrument.market_id}).", field="regsho_basis")
    deadline = rules.close_out_deadline(basis=basis, market=instrument.market,
                                        settlement_date=instruction.settlement_date,
                                        trade_date=instruction_trade_date(instruction))
    if fail.regsho_basis == basis and fail.close_out_deadline == deadline:
        return fail
    before = snapshot(fail)
    fail.regsho_basis = basis
    fail.close_out_deadline = deadline
    fail.updated_at = timezone.now()
    fail.save(update_fields=["regsho_basis", "close_out_deadline", "updated_at"])
    audit_log(actor=actor, action="UPDATE", instance=fail, before=before, after=snapshot(fail), reason=reason)
    return fail


# --- penalties ---

# One statement per chunk. due: the fails of the range open on the day in a market settling that day,
# with their type of fail (rules.penalty_fail_type) and what was unsettled that day (what is unsettled
# now plus what settled after it: a fail closed or reduced since keeps that day's figures); priced:
# with the rate effective that day and, for a SECURITIES fail, the day's closing price (latest on or
# before it, in the instruction's currency); inserted: rate x reference value rounded half away from
# zero (amounts are positive) to the currency's minor units, once per fail and day.
_ACCRUE_SQL = """
WITH open_fail AS (
    SELECT f.id AS fail_id, si.instrument_id, si.currency, i.asset_class,
           CASE WHEN f.cause = 'CASH' OR (f.cause = 'COUNTERPARTY' AND f.kind = 'DELIVER')
                THEN 'CASH' ELSE 'SECURITIES' END AS fail_type,
           f.unsettled_quantity + COALESCE(later.quantity, 0) AS unsettled_quantity,
           abs(si.cash_amount - si.settled_cash) + COALESCE(later.cash, 0) AS unsettled_cash
    FROM settlements_settlementfail AS f
    JOIN settlements_settlementinstruction AS si ON si.id = f.instruction_id
    JOIN records_instrument AS i ON i.id = si.instrument_id
    LEFT JOIN LATERAL (SELECT sum(abs(m.quantity)) AS quantity, sum(abs(m.cash)) AS cash
                       FROM settlements_settlementmovement AS m
                       WHERE m.instruction_id = si.id AND m.value_date > %(day)s::date) AS later ON true
    WHERE f.id >= %(low)s::bigint AND f.id < %(high)s::bigint
      AND f.failed_on <= %(day)s::date AND (f.closed_on IS NULL OR f.closed_on > %(day)s::date)
      AND si.status <> 'CANCELLED' AND i.market_id = ANY(%(mics)s::text[])
), due AS (
    SELECT * FROM open_fail WHERE unsettled_quantity > 0
), priced AS (
    SELECT due.*, r.rate, p.price
    FROM due
    JOIN LATERAL (SELECT rate FROM settlements_penaltyrate AS pr
                  WHERE pr.asset_class = due.asset_class AND pr.fail_type = due.fail_type
                    AND pr.effective_from <= %(day)s::date
                  ORDER BY pr.effective_from DESC LIMIT 1) AS r ON true
    LEFT JOIN LATERAL (SELECT price FROM records_price AS rp
                       WHERE rp.instrument_id = due.instrument_id AND rp.price_date <= %(day)s::date
                         AND rp.currency = due.currency
                       ORDER BY rp.price_date DESC, rp.updated_at DESC, rp.id DESC LIMIT 1) AS p ON true
    WHERE due.fail_type = 'CASH' OR p.price IS NOT NULL
), inserted AS (
    INSERT INTO settlements_failpenalty (fail_id, penalty_date, unsettled_quantity, reference_price, rate, amount,
                                         currency, created_at)
    SELECT priced.fail_id, %(day)s::date, priced.unsettled_quantity,
           CASE WHEN priced.fail_type = 'CASH' THEN round(priced.unsettled_cash / priced.unsettled_quantity, 8)
                ELSE priced.price END,
           priced.rate,
           round(priced.rate * CASE WHEN priced.fail_type = 'CASH' THEN priced.unsettled_cash
                                    ELSE priced.unsettled_quantity * priced.price END, e.exponent),
           priced.currency, %(now)s::timestamptz
    FROM priced JOIN unnest(%(currencies)s::text[], %(exponents)s::int[]) AS e(currency, exponent)
         ON e.currency = priced.currency
    ORDER BY priced.fail_id
    ON CONFLICT (fail_id, penalty_date) DO NOTHING
    RETURNING id, fail_id, penalty_date, unsettled_quantity, reference_price, rate, amount, currency
)
SELECT 'p', id, fail_id, penalty_date, unsettled_quantity, reference_price, rate, amount, currency FROM inserted
UNION ALL
SELECT 'u', NULL, due.fail_id, NULL, NULL, NULL, NULL, NULL, NULL
FROM due WHERE NOT EXISTS (SELECT 1 FROM priced WHERE priced.fail_id = due.fail_id)
UNION ALL
SELECT 'd', count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM due
"""
_PENALTY_FIELDS = ("id", "fail_id", "penalty_date", "unsettled_quantity", "reference_price", "rate", "amount",
                   "currency")


def _minor_units() -> tuple[list[str], list[int]]:
    codes = sorted(iso4217_codes())
    return codes, [currency_exponent(code) for code in codes]


@transaction.atomic
def fail_penalties_accrue(*, penalty_date: date, actor, low: int = LOWEST, high: int = HIGHEST) -> dict:
    """Accrue the day's penalty of every fail with an id in [low, high) open on penalty_date (audited).

    Only fails whose instrument's market settles that day. Idempotent: a fail's penalty of a day is
    inserted once, whatever the reruns. The day should be over (see penalty_date_parse): a fail
    closed later that day would keep a penalty it does not owe. Returns the counts: penalties inserted
    (rows), fails due, fails without a price or rate (unpriced, the first UNPRICED_SHOWN ids named).
    """
    mics = [market.mic for market in settling_markets(penalty_date)]
    if not mics:
        return {"rows": 0, "date": penalty_date.isoformat(), "due": 0, "penalties": 0, "unpriced": 0}
    currencies, exponents = _minor_units()
    params = {"day": penalty_date, "low": low, "high": high, "mics": mics, "now": timezone.now(),
              "currencies": currencies, "exponents": exponents}
    inserted, unpriced, due = [], [], 0
    with connection.cursor() as cursor:
        cursor.execute(_ACCRUE_SQL, params)
        for row in cursor.fetchall():
            if row[0] == "p":
                inserted.append(row[1:])
            elif row[0] == "u":
                unpriced.append(row[2])
            else:
                due = row[1]
    inserted.sort()
    for start in range(0, len(inserted), AUDIT_BATCH):
        audit_log_bulk(actor=actor, action="CREATE", reason=f"CSDR cash penalty of {penalty_date.isoformat()}",
                       entries=[AuditEntry(_PENALTY, row[0], None, dict(zip(_PENALTY_FIELDS, row, strict=True)))
                                for row in inserted[start:start + AUDIT_BATCH]])
    return {"rows": len(inserted), "date": penalty_date.isoformat(), "fails": [low, high], "due": due,
            "penalties": len(inserted), "amounts": _totals(inserted), "unpriced": len(unpriced),
            "unpriced_fails": sorted(unpriced)[:UNPRICED_SHOWN]}


def _totals(inserted: list[tuple]) -> dict[str, str]:
    totals: dict = {}
    for row in inserted:
        totals[row[7]] = totals.get(row[7], 0) + row[6]
    return {currency: format_decimal(total) for currency, total in sorted(totals.items())}
