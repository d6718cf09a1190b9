"""Reads of settlement runs: runs with their jobs, their movements and figures, and what a run is planned on.

The dashboards and the API filter with keyword arguments already parsed (None: do not filter).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum

from backoffice.core.jobs.models import JobRun
from settlements.models import SettlementInstruction, SettlementMovement, SettlementRun

# The job kinds behind settlement runs: a run of a date, and the day's container of what the
# depository confirmed one instruction at a time (settlements/runs/services.py).
SETTLEMENT_RUN = "settlement-run"
CONFIRMATIONS = "settlement-confirmations"


def settlement_open_counts(*, settlement_date: date, markets: list[str]) -> list[tuple[int, int]]:
    """Return (account id, open instructions due by the date in those markets), by account id.

    What a run's chunks are cut by, read once when the run is created.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.account_id, count(*) FROM settlements_settlementinstruction AS i "
            "JOIN records_instrument AS ins ON ins.id = i.instrument_id "
            "WHERE i.status IN ('PENDING', 'PARTIAL', 'FAILED') AND i.settlement_date <= %s::date "
            "AND ins.market_id = ANY(%s::text[]) GROUP BY i.account_id ORDER BY i.account_id",
            [settlement_date, markets])
        return [(account_id, count) for account_id, count in cursor.fetchall()]


# --- runs ---

def settlement_run_list(*, settlement_date: date | None = None, status: str | None = None,
                        date_from: date | None = None, date_to: date | None = None,
                        kind: str | None = None) -> QuerySet[SettlementRun]:
    """Return settlement runs, newest first, each with its job (the status lives there)."""
    runs = SettlementRun.objects.select_related("job", "job__started_by").order_by("-id")
    if settlement_date:
        runs = runs.filter(settlement_date=settlement_date)
    if date_from:
        runs = runs.filter(settlement_date__gte=date_from)
    if date_to:
        runs = runs.filter(settlement_date__lte=date_to)
    if status:
        runs = runs.filter(job__status=status)
    if kind:
        runs = runs.filter(job__kind=kind)
    return runs


def settlement_run_get(run_id: int) -> SettlementRun | None:
    return settlement_run_list().filter(pk=run_id).first()


def settlement_run_of_job(job: JobRun) -> SettlementRun | None:
    """Return the settlement run a job executes: its own, or the one of the failed run it reruns (rerun_of)."""
    current: JobRun | None = job
    seen = set()
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        run = SettlementRun.objects.filter(job_id=current.pk).first()
        if run is not None:
            return run
        current = JobRun.objects.filter(pk=current.rerun_of_id).first() if current.rerun_of_id else None
    return None


def job_lineage(job: JobRun) -> list[int]:
    """Return the ids of the failed jobs a job continues (rerun_of, then its rerun_of...), nearest first."""
    ids, seen = [], {job.pk}
    current = job.rerun_of_id
    while current is not None and current not in seen:
        ids.append(current)
        seen.add(current)
        current = JobRun.objects.filter(pk=current).values_list("rerun_of_id", flat=True).first()
    return ids


def settlement_run_active(*, settlement_date: date) -> SettlementRun | None:
    """Return the run of the date that is queued or running, if any."""
    return (settlement_run_list(settlement_date=settlement_date, kind=SETTLEMENT_RUN)
            .filter(job__status__in=(JobRun.Status.QUEUED, JobRun.Status.RUNNING)).first())


def settlement_run_latest(*, settlement_date: date) -> SettlementRun | None:
    """Return the date's latest run (not the container of the depository's confirmations)."""
    return settlement_run_list(settlement_date=settlement_date, kind=SETTLEMENT_RUN).first()


def confirmations_run_get(*, settlement_date: date) -> SettlementRun | None:
    """Return the date's container of instructions the depository confirmed settled, if there is one."""
    return settlement_run_list(settlement_date=settlement_date, kind=CONFIRMATIONS).first()


def settlement_run_totals(runs: QuerySet[SettlementRun]) -> dict:
    """Return the runs and their settled, partial and failed counts, summed."""
    return runs.aggregate(runs=Count("id"), settled=Sum("settled"), partial=Sum("partial"), failed=Sum("failed"))


@dataclass(frozen=True)
class CurrencyFigures:
    """What a run moved in one currency: movements, cash paid and received, securities delivered and received."""

    currency: str
    movements: int
    paid: Decimal  # Σ cash the accounts paid, as a positive amount
    received: Decimal
    delivered: Decimal  # Σ quantity delivered, as a positive quantity (instruments of the currency, added)
    received_quantity: Decimal

    @property
    def net(self) -> Decimal:
        """Cash the accounts received less what they paid."""
        return self.received - self.paid


def settlement_run_figures(run: SettlementRun) -> list[CurrencyFigures]:
    """Return the run's movements summed per currency (so far, while it runs)."""
    zero = Decimal(0)
    rows = (SettlementMovement.objects.filter(run=run).values("currency").order_by("currency")
            .annotate(movements=Count("id"),
                      paid=Sum("cash", filter=Q(cash__lt=0), default=zero),
                      received=Sum("cash", filter=Q(cash__gt=0), default=zero),
                      delivered=Sum("quantity", filter=Q(quantity__lt=0), default=zero),
                      received_quantity=Sum("quantity", filter=Q(quantity__gt=0), default=zero)))
    return [CurrencyFigures(currency=row["currency"], movements=row["movements"], paid=-row["paid"],
                            received=row["received"], delivered=-row["delivered"],
                            received_quantity=row["received_quantity"]) for row in rows]


def settlement_run_movements(run: SettlementRun) -> QuerySet[SettlementMovement]:
    """Return the run's movements, newest first, with their instruction, account and instrument."""
    return (SettlementMovement.objects.filter(run=run)
            .select_related("instruction", "instruction__counterparty", "account", "instrument").order_by("-id"))


def settlement_run_open_instructions(run: SettlementRun) -> QuerySet[SettlementInstruction]:
    """Return the instructions due by the run's date still open now (partial or failed), oldest date first."""
    return (SettlementInstruction.objects
            .filter(settlement_date__lte=run.settlement_date, status__in=("PARTIAL", "FAILED"))
            .annotate(quantity_left=F("quantity") - F("settled_quantity"),
                      cash_left=F("cash_amount") - F("settled_cash"))
            .select_related("account", "counterparty", "instrument", "fail").order_by("settlement_date", "id"))
