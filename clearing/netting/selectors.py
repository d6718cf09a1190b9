"""Reads of clearing's netting: clearing runs, net obligations and their trades, and what a run is planned on.

The dashboards and the API filter with keyword arguments already parsed (None: do not filter);
other apps read obligations through these.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Abs

from backoffice.core.jobs.models import JobRun
from clearing.models import ClearingRun, NettedTrade, Obligation
from records.trades.models import Trade


def netting_instrument_counts(*, settlement_date: date) -> list[tuple[int, int]]:
    """Return (instrument id, booked trades) settling on the date, by instrument id: what a run's chunks are cut by.

    Counts every BOOKED trade of the date (matched or not): an estimate of each instrument's share of
    the work, read once when a run is created.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT instrument_id, count(*) FROM records_trade WHERE settlement_date = %s::date "
                       "AND status = 'BOOKED' GROUP BY instrument_id ORDER BY instrument_id", [settlement_date])
        return [(instrument_id, count) for instrument_id, count in cursor.fetchall()]


# --- clearing runs ---

def clearing_run_list(*, settlement_date: date | None = None, status: str | None = None,
                      date_from: date | None = None, date_to: date | None = None) -> QuerySet[ClearingRun]:
    """Return clearing runs, newest first, each with its job (the status lives there)."""
    runs = ClearingRun.objects.select_related("job", "job__started_by").order_by("-id")
    if settlement_date:
        runs = runs.filter(settlement_date=settlement_date)
    if date_from:
        runs = runs.filter(settlement_date__gte=date_from)
    if date_to:
        runs = runs.filter(settlement_date__lte=date_to)
    if status:
        runs = runs.filter(job__status=status)
    return runs


def clearing_run_get(run_id: int) -> ClearingRun | None:
    return clearing_run_list().filter(pk=run_id).first()


def clearing_run_of_job(job: JobRun) -> ClearingRun | None:
    """Return the clearing run a job executes: its own, or the one of the failed run it reruns (rerun_of).

    A rerun started on the jobs page is a new job pointing back to the failed one; the clearing run
    still names the failed job until the rerun's first chunk takes it over.
    """
    current: JobRun | None = job
    seen = set()
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        run = ClearingRun.objects.filter(job_id=current.pk).first()
        if run is not None:
            return run
        current = JobRun.objects.filter(pk=current.rerun_of_id).first() if current.rerun_of_id else None
    return None


def clearing_run_active(*, settlement_date: date) -> ClearingRun | None:
    """Return the run of the date that is queued or running, if any."""
    return (clearing_run_list(settlement_date=settlement_date)
            .filter(job__status__in=(JobRun.Status.QUEUED, JobRun.Status.RUNNING)).first())


def clearing_run_latest(*, settlement_date: date) -> ClearingRun | None:
    return clearing_run_list(settlement_date=settlement_date).first()


def clearing_run_totals(runs: QuerySet[ClearingRun]) -> dict:
    """Return the trades netted and obligations created over the runs (those completed hold their figures)."""
    return runs.aggregate(runs=Count("id"), trades_netted=Sum("trades_netted"),
                          obligations_created=Sum("obligations_created"))


@dataclass(frozen=True)
class CurrencyFigures:
    """A run's netting in one currency: gross (the trades) against net (the obligations)."""

    currency: str
    trades: int
    obligations: int
    gross_value: Decimal
    net_value: Decimal
    gross_quantity: Decimal
    net_quantity: Decimal
    pay: Decimal  # Σ net cash the accounts pay (negative net cash), as a positive amount
    receive: Decimal  # Σ net cash the accounts receive

    @property
    def count_efficiency(self) -> Decimal | None:
        return efficiency(gross=self.trades, net=self.obligations)

    @property
    def value_efficiency(self) -> Decimal | None:
        return efficiency(gross=self.gross_value, net=self.net_value)


def efficiency(*, gross, net) -> Decimal | None:
    """Return the share of the gross that netting removed, 1 - net / gross, to four places; None without gross."""
    if not gross:
        return None
    return (1 - Decimal(net) / Decimal(gross)).quantize(Decimal("0.0001"))


def clearing_run_figures(run: ClearingRun) -> list[CurrencyFigures]:
    """Return the run's figures per currency, from its obligations (so far, while it runs)."""
    rows = (Obligation.objects.filter(run=run).values("currency").order_by("currency")
            .annotate(trades=Sum("trade_count"), obligations=Count("id"),
                      gross_value=Sum(F("buy_value") + F("sell_value")), net_value=Sum(Abs("net_cash")),
                      gross_quantity=Sum(F("buy_quantity") + F("sell_quantity")),
                      net_quantity=Sum(Abs("net_quantity")),
                      pay=Sum(-F("net_cash"), filter=Q(net_cash__lt=0), default=0),
                      receive=Sum("net_cash", filter=Q(net_cash__gt=0), default=0)))
    return [CurrencyFigures(**row) for row in rows]


FIGURES = ("trades_netted", "obligations_created", "gross_value", "net_value", "gross_quantity", "net_quantity")


def clearing_runs_with_live_figures(runs) -> list[ClearingRun]:
    """Return the runs, those not completed with their figures so far (from their obligations, one query).

    A completed run holds its figures (written by its last step); a queued, running or failed one
    holds zeros until then, so its figures are read live: what it has netted.
    """
    runs = list(runs)
    pending = [run.pk for run in runs if run.job.status != JobRun.Status.COMPLETED]
    if pending:
        live = {row["run_id"]: row for row in Obligation.objects.filter(run_id__in=pending).values("run_id")
                .order_by("run_id").annotate(
                    trades_netted=Sum("trade_count"), obligations_created=Count("id"),
                    gross_value=Sum(F("buy_value") + F("sell_value")), net_value=Sum(Abs("net_cash")),
                    gross_quantity=Sum(F("buy_quantity") + F("sell_quantity")),
                    net_quantity=Sum(Abs("net_quantity")))}
        for run in runs:
            if run.pk in live:
                for name in FIGURES:
                    setattr(run, name, live[run.pk][name])
    return runs


# --- obligations ---

def obligation_list(*, settlement_date: date | None = None, account=None, counterparty=None, instruments=None,
                    run_id: int | None = None, status: str | None = None,
                    currency: str | None = None) -> QuerySet[Obligation]:
    """Return net obligations, newest first. account and counterparty are records, instruments a list of them."""
    obligations = Obligation.objects.select_related("account", "counterparty", "instrument", "run").order_by("-id")
    if settlement_date:
        obligations = obligations.filter(settlement_date=settlement_date)
    if account is not None:
        obligations = obligations.filter(account=account)
    if counterparty is not None:
        obligations = obligations.filter(counterparty=counterparty)
    if instruments is not None:
        obligations = obligations.filter(instrument__in=instruments)
    if run_id:
        obligations = obligations.filter(run_id=run_id)
    if status:
        obligations = obligations.filter(status=status)
    if currency:
        obligations = obligations.filter(currency=currency)
    return obligations


def obligation_get(obligation_id: int) -> Obligation | None:
    return obligation_list().filter(pk=obligation_id).first()


def obligation_with_trade_ids(obligation_id: int) -> Obligation | None:
    """Return the obligation with `trade_ids`, its netted trades' ids in order."""
    obligation = obligation_get(obligation_id)
    if obligation is not None:
        obligation.trade_ids = list(NettedTrade.objects.filter(obligation=obligation).order_by("trade_id")
                                    .values_list("trade_id", flat=True))
    return obligation


def obligation_totals(obligations: QuerySet[Obligation]) -> list[dict]:
    """Return per currency: obligations, trades, Σ net cash paid and received, Σ gross value."""
    return list(obligations.order_by().values("currency").order_by("currency").annotate(
        obligations=Count("id"), trades=Sum("trade_count"),
        pay=Sum(-F("net_cash"), filter=Q(net_cash__lt=0), default=0),
        receive=Sum("net_cash", filter=Q(net_cash__gt=0), default=0),
        gross_value=Sum(F("buy_value") + F("sell_value")), net_value=Sum(Abs("net_cash"))))


def obligation_trades(obligation: Obligation) -> QuerySet[Trade]:
    """Return the trades an obligation nets, by id, with what the page shows of them."""
    return (Trade.objects.filter(netting__obligation=obligation)
            .select_related("account", "counterparty", "counterparty__clears_through", "instrument")
            .order_by("id"))
