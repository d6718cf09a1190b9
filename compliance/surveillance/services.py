"""Writes of the post-trade surveillance: starting a run for a trade date, and each scenario's step of it.

A run is a job of kind "compliance-surveillance" (backoffice/core/jobs) with {"trade_date"}: one step per
scenario (compliance/surveillance/scenarios.py), each one chunk, atomic: the scenario's one statement finds its
hits, alerts_raise inserts those not raised yet (unique per rule and dedupe key, so a rerun or a second run at
once raises nothing twice) with their OPEN events and audit records, and the chunk's result keeps the counts
(hits, raised, already there). The fail step also puts accounts into the Reg SHO penalty box (one INSERT ...
ON CONFLICT (fail_id) DO NOTHING) and releases the entries whose fail has closed, both audited.

Started by the API and the page (surveillance_run_start: queued), by beat every weekday evening
(compliance.surveillance_run), and by `manage.py run_surveillance --date` (surveillance_run_now). At most one
run per trade date is queued or running: a second start answers 409.
"""

import time
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import date_param
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_enqueue, job_run_execute
from compliance.alerts.services import alerts_raise
from compliance.rules.models import RuleKind
from compliance.rules.selectors import rules_in_force
from compliance.shorts.models import PenaltyBoxEntry
from compliance.surveillance import scenarios
from compliance.surveillance.kinds import SURVEILLANCE
from records.audit.services.audit import AuditEntry, audit_log, audit_log_bulk, record_type_of, snapshot
from records.reference.models import Market
from records.reference.services.calendar import is_trading_session

# pg_advisory_xact_lock(_LOCK, trade date's ordinal) serialises the starts of one date.
_LOCK = 0x5355_5256  # "SURV"

# The scenarios in the order a run takes them: step name, rule kind, function.
SCENARIOS = (
    ("wash-trades", RuleKind.WASH_TRADE, scenarios.wash_trades),
    ("large-trades", RuleKind.LARGE_TRADE, scenarios.large_trades),
    ("structuring", RuleKind.STRUCTURING, scenarios.structuring),
    ("marking-close", RuleKind.MARKING_CLOSE, scenarios.marking_close),
    ("fail-close-out", RuleKind.FAIL_CLOSE_OUT, scenarios.fails_past_close_out),
)
STEP_NAMES = tuple(name for name, _kind, _function in SCENARIOS)


def trade_date_parse(value) -> date:
    """The trade date of a run: YYYY-MM-DD, not in the future, a trading day of at least one market."""
    day = date_param(value, field="trade_date")
    if day > timezone.localdate():
        raise BusinessRuleError(f"{day.isoformat()} is in the future: there is nothing to survey yet.",
                                field="trade_date")
    markets = list(Market.objects.all())
    trading = (any(is_trading_session(market=m, day=day) for m in markets) if markets else day.weekday() < 5)
    if not trading:
        raise BusinessRuleError(f"{day.isoformat()} is not a trading day of any market.", field="trade_date")
    return day


def surveillance_parameters(parameters: dict) -> dict:
    """The parameters of a run (the job kind's parse): {"trade_date": "YYYY-MM-DD"}."""
    unknown = sorted(set(parameters) - {"trade_date"})
    if unknown:
        raise BusinessRuleError(f"Unknown parameter {unknown[0]!r}; expected trade_date.", field=unknown[0])
    if "trade_date" not in parameters:
        raise BusinessRuleError("Give the trade date to survey (YYYY-MM-DD).", field="trade_date")
    return {"trade_date": trade_date_parse(parameters["trade_date"]).isoformat()}


def _under_way(day: date) -> JobRun | None:
    return (JobRun.objects.filter(kind=SURVEILLANCE, parameters__trade_date=day.isoformat(),
                                  status__in=(JobRun.Status.QUEUED, JobRun.Status.RUNNING)).order_by("id").first())


def _create(*, trade_date, started_by, task_id: str = "") -> JobRun:
    """Create a QUEUED run of a date (ConflictError while one is under way), audited. Call inside a transaction."""
    day = trade_date_parse(trade_date)
    with connection.cursor() as cursor:  # one start per date at a time: the check below holds until commit
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK, day.toordinal()])
    running = _under_way(day)
    if running is not None:
        raise ConflictError(f"Surveillance of {day.isoformat()} is already {running.get_status_display().lower()} "
                            f"(job {running.pk}).")
    job = job_create(kind=SURVEILLANCE, params={"trade_date": day.isoformat()}, started_by=started_by,
                     task_id=task_id)
    audit_log(actor=started_by, action="CREATE", instance=job, after=snapshot(job),
              reason=f"surveillance of {day.isoformat()}")
    return job


@transaction.atomic
def surveillance_run_create(*, trade_date, started_by, task_id: str = "") -> JobRun:
    """Create a QUEUED run of a trade date without queueing it (beat's task executes it itself). A redelivered
    task (same task_id) gets the run it created the first time."""
    if task_id:
        existing = JobRun.objects.filter(task_id=task_id).first()
        if existing is not None:
            return existing
    return _create(trade_date=trade_date, started_by=started_by, task_id=task_id)


@transaction.atomic
def surveillance_run_start(*, trade_date, started_by) -> JobRun:
    """Queue a surveillance run of a trade date (to a worker, once this transaction commits).

    BusinessRuleError for a malformed, future or non-trading date; ConflictError while a run of the date is
    queued or running.
    """
    job = _create(trade_date=trade_date, started_by=started_by)
    job_enqueue(job.pk)
    return job


def surveillance_run_now(*, trade_date, started_by, task_id: str = "") -> JobRun:
    """Create a run of a trade date and execute it in this process (the command, beat's task). Not atomic:
    each scenario's step is."""
    with transaction.atomic():
        job = _create(trade_date=trade_date, started_by=started_by, task_id=task_id)
    return job_run_execute(job_id=job.pk)


def _actor(job: JobRun):
    return job.started_by if job.started_by_id is not None else f"job:{SURVEILLANCE}"


def surveillance_scenario_run(*, job: JobRun, step: str) -> dict:
    """Run one scenario of a run and raise its alerts. Run inside the chunk's transaction."""
    name, kind, function = next(s for s in SCENARIOS if s[0] == step)
    day = date.fromisoformat(job.parameters["trade_date"])
    started = time.monotonic()
    rules = rules_in_force(kinds=[kind], date_from=day)
    outcome = function(day=day, rules=rules)
    raised = alerts_raise(actor=_actor(job), drafts=outcome.drafts, job_id=job.pk)
    extra = penalty_box_update(job=job, day=day) if kind == RuleKind.FAIL_CLOSE_OUT else {}
    hits = len({(d.rule.pk, d.dedupe_key) for d in outcome.drafts})
    return {"rows": len(raised), "step": name, "kind": kind, "trade_date": day.isoformat(),
            "rules": [r.code for r in rules], "hits": hits, "raised": len(raised), "existing": hits - len(raised),
            "seconds": round(time.monotonic() - started, 3), **outcome.extra, **extra}


_PENALTY_INSERT = """
INSERT INTO compliance_penaltyboxentry AS e (account_id, instrument_id, fail_id, close_out_deadline, since, reason,
    released_on, release_reason, created_at)
SELECT f.account_id, f.instrument_id, f.id, f.close_out_deadline, %(day)s,
       'fail to deliver ' || f.id || ' open past its close-out deadline ' || f.close_out_deadline, NULL, '', %(now)s
FROM ({past}) AS f
ORDER BY f.id
ON CONFLICT (fail_id) DO NOTHING
RETURNING e.id, e.account_id, e.instrument_id, e.fail_id, e.close_out_deadline, e.reason
"""

_PENALTY_RELEASE = """
UPDATE compliance_penaltyboxentry AS e
SET released_on = %(day)s, release_reason = 'fail closed out ' || f.closed_on
FROM settlements_settlementfail AS f
WHERE f.id = e.fail_id AND e.released_on IS NULL AND f.closed_on IS NOT NULL AND f.closed_on <= %(day)s
RETURNING e.id, e.release_reason
"""


def penalty_box_update(*, job: JobRun, day: date) -> dict:
    """Put each account with a fail to deliver open past its close-out deadline on `day` into the penalty box
    for the instrument (once per fail), and release the entries whose fail has closed out by `day`. Audited.
    Run inside a transaction.

    The box is Rule 204(b)'s, whatever the FAIL_CLOSE_OUT rules say: a rule only decides who is alerted.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_PENALTY_INSERT.format(past=scenarios.past_deadline_sql()), {"day": day, "now": now})
        added = cursor.fetchall()
        cursor.execute(_PENALTY_RELEASE, {"day": day})
        released = cursor.fetchall()
    record_type = record_type_of(PenaltyBoxEntry)
    actor = _actor(job)
    if added:
        audit_log_bulk(actor=actor, action="CREATE", reason=f"surveillance of {day.isoformat()} (job {job.pk})",
                       entries=[AuditEntry(record_type, entry_id, None, {
                           "account": account_id, "instrument": instrument_id, "fail_id": fail_id,
                           "close_out_deadline": deadline.isoformat(), "since": day.isoformat(), "reason": reason,
                           "released_on": None}) for entry_id, account_id, instrument_id, fail_id, deadline, reason
                           in added])
    if released:
        audit_log_bulk(actor=actor, action="UPDATE", reason=f"surveillance of {day.isoformat()} (job {job.pk})",
                       entries=[AuditEntry(record_type, entry_id, {"released_on": None, "release_reason": ""},
                                           {"released_on": day.isoformat(), "release_reason": reason})
                                for entry_id, reason in released])
    return {"penalty_box_added": len(added), "penalty_box_released": len(released)}
