"""Reads of alerts: the queue with its filters and counts, one alert with its history, the daily summary.

An alert's age runs from opened_at to now (or to closed_at once CLOSED). Its SLA is breached when it is
still open after due_at (or was closed after it); "near breach" is the last quarter of its SLA (at least one
hour), while still open. The daily summary's blocks are one aggregate query each.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from backoffice.core import roles
from compliance.alerts.models import Alert, AlertEvent, AlertState
from compliance.rules.models import ComplianceRule, RuleKind, Severity
from compliance.shorts.models import PenaltyBoxEntry
from records.trades.models import Trade
from records.trades.selectors import trades_in_status
from settlements.fails.selectors import open_on
from settlements.models import SettlementFail

OPEN_STATES = (AlertState.OPEN, AlertState.INVESTIGATING, AlertState.ESCALATED)
SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
UNASSIGNED = "unassigned"
SUMMARY_ROWS = 50  # held trades, fails and penalty-box entries listed on the summary (the counts are exact)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first instant of day and of the next one, in the current time zone."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def alert_list(*, states=None, severity: str | None = None, rule: str | None = None, kind: str | None = None,
               owner=None, account=None, instrument=None, date_from: date | None = None,
               date_to: date | None = None, overdue: bool | None = None, subject_type: str | None = None,
               subject_id: int | None = None, now: datetime | None = None) -> QuerySet[Alert]:
    """Return the alerts, newest first (latest raised: by id, which follows opened_at and walks the primary key's
    index, so a page of the queue never sorts every open alert), with rule, owner, account and instrument loaded.

    Filters (None: do not): states (a state or a list of them), severity, rule (its code), kind, owner (a
    user, a username, or UNASSIGNED), account (an Account or its code), instrument (an Instrument or its
    ISIN), date_from/date_to (the local day it was opened), overdue (True: open and past due_at; False: not),
    subject_type with subject_id.
    """
    rows = Alert.objects.select_related("rule", "owner", "account", "instrument")
    if states:
        rows = rows.filter(state__in=[states] if isinstance(states, str) else list(states))
    if severity:
        rows = rows.filter(severity=severity)
    if rule:
        rows = rows.filter(rule__code=rule)
    if kind:
        rows = rows.filter(kind=kind)
    if owner == UNASSIGNED:
        rows = rows.filter(owner__isnull=True)
    elif isinstance(owner, str):
        rows = rows.filter(owner__username=owner)
    elif owner is not None:
        rows = rows.filter(owner=owner)
    if isinstance(account, str):
        rows = rows.filter(account__code=account)
    elif account is not None:
        rows = rows.filter(account=account)
    if isinstance(instrument, str):
        rows = rows.filter(instrument__isin=instrument)
    elif instrument is not None:
        rows = rows.filter(instrument=instrument)
    if date_from is not None:
        rows = rows.filter(opened_at__gte=day_bounds(date_from)[0])
    if date_to is not None:
        rows = rows.filter(opened_at__lt=day_bounds(date_to)[1])
    if overdue is not None:
        breached = overdue_q(now or timezone.now())
        rows = rows.filter(breached) if overdue else rows.exclude(breached)
    if subject_type:
        rows = rows.filter(subject_type=subject_type)
    if subject_id is not None:
        rows = rows.filter(subject_id=subject_id)
    return rows.order_by("-id")


def overdue_q(now: datetime) -> Q:
    """The condition of an alert past its SLA now: still open after due_at."""
    return Q(state__in=OPEN_STATES, due_at__lt=now)


def rule_code_exists(code: str) -> bool:
    return ComplianceRule.objects.filter(code=code).exists()


def user_exists(username: str) -> bool:
    return get_user_model().objects.filter(username=username).exists()


def alert_get(alert_id) -> Alert | None:
    if isinstance(alert_id, bool) or not isinstance(alert_id, int):
        return None
    return alert_list().filter(pk=alert_id).first()


def evidence_records(alert: Alert) -> list[dict]:
    """The records of the alert's evidence that are well formed: {"type", "id", "label"}."""
    evidence = alert.evidence if isinstance(alert.evidence, dict) else {}
    return [record for record in evidence.get("records", []) or []
            if isinstance(record, dict) and isinstance(record.get("type"), str) and "id" in record]


def evidence_figures(alert: Alert) -> dict:
    evidence = alert.evidence if isinstance(alert.evidence, dict) else {}
    figures = evidence.get("figures")
    return figures if isinstance(figures, dict) else {}


def alert_subject(alert: Alert) -> dict:
    """The alert's subject: its type, id and the label its evidence gives it (else "<type> <id>")."""
    label = next((str(r.get("label", "")) for r in evidence_records(alert)
                  if r["type"] == alert.subject_type and r["id"] == alert.subject_id), "")
    return {"type": alert.subject_type, "id": alert.subject_id,
            "label": label or f"{alert.get_subject_type_display()} {alert.subject_id}"}


def alert_events(alert: Alert) -> list[AlertEvent]:
    """The alert's history, oldest first, with actor and owner loaded."""
    return list(AlertEvent.objects.filter(alert=alert).select_related("actor", "owner").order_by("at", "id"))


@dataclass(frozen=True)
class Sla:
    age_hours: float
    breached: bool
    near_breach: bool
    hours_left: float  # negative once breached

    @property
    def hours_over(self) -> float:
        return max(0.0, -self.hours_left)


def alert_sla(alert: Alert, now: datetime | None = None) -> Sla:
    """The alert's age and SLA position now (or at closed_at once CLOSED)."""
    now = now or timezone.now()
    end = alert.closed_at if alert.state == AlertState.CLOSED and alert.closed_at else now
    age = (end - alert.opened_at).total_seconds() / 3600
    left = (alert.due_at - end).total_seconds() / 3600
    allowed = (alert.due_at - alert.opened_at).total_seconds() / 3600
    is_open = alert.state != AlertState.CLOSED
    return Sla(age_hours=round(age, 1), breached=left < 0, hours_left=round(left, 1),
               near_breach=is_open and 0 <= left <= max(1.0, allowed / 4))


def kind_texts(kind: str) -> tuple[str, str]:
    """A rule kind as a short text ("Wash trade") and its full label."""
    label = RuleKind(kind).label if kind in RuleKind.values else kind
    return kind.replace("_", " ").capitalize(), label


def alert_counts(*, now: datetime | None = None) -> dict:
    """The queue's counters in one query: alerts per state, open ones per severity, open ones past their SLA,
    and open ones without an owner."""
    now = now or timezone.now()
    is_open = Q(state__in=OPEN_STATES)
    aggregates = {f"state_{s}": Count("id", filter=Q(state=s)) for s in AlertState.values}
    aggregates |= {f"severity_{s}": Count("id", filter=is_open & Q(severity=s)) for s in Severity.values}
    aggregates |= {"overdue": Count("id", filter=is_open & Q(due_at__lt=now)),
                   "unassigned": Count("id", filter=is_open & Q(owner__isnull=True)),
                   "open": Count("id", filter=is_open)}
    found = Alert.objects.aggregate(**aggregates)
    return {"states": {s: found[f"state_{s}"] for s in AlertState.values},
            "severities": {s: found[f"severity_{s}"] for s in SEVERITY_ORDER},
            "overdue": found["overdue"], "unassigned": found["unassigned"], "open": found["open"]}


def compliance_officers() -> QuerySet:
    """The users alerts may be assigned to: active, in the compliance group (superusers too), by username."""
    return (get_user_model().objects.filter(Q(groups__name=roles.COMPLIANCE) | Q(is_superuser=True), is_active=True)
            .distinct().order_by("username"))


def alert_rule_codes() -> list[tuple[str, str]]:
    """(code, name) of the rules that have raised alerts, for a filter's choices."""
    # One probe of the (rule, dedupe_key) index per rule, not a scan of every alert.
    return list(ComplianceRule.objects.filter(Exists(Alert.objects.filter(rule=OuterRef("pk"))))
                .order_by("code").values_list("code", "name"))


def alert_kinds() -> list[str]:
    return list(Alert.objects.order_by("kind").values_list("kind", flat=True).distinct())


# The daily summary ----------------------------------------------------------------------------------------

@dataclass
class Breakdown:
    """Counts per severity and kind: rows[kind][severity], with totals per severity, per kind and overall."""

    rows: dict = field(default_factory=dict)
    by_severity: dict = field(default_factory=dict)
    total: int = 0

    @classmethod
    def of(cls, counted) -> "Breakdown":
        rows: dict = defaultdict(lambda: dict.fromkeys(SEVERITY_ORDER, 0))
        by_severity = dict.fromkeys(SEVERITY_ORDER, 0)
        total = 0
        for row in counted:
            rows[row["kind"]][row["severity"]] += row["n"]
            by_severity[row["severity"]] += row["n"]
            total += row["n"]
        return cls(rows={kind: {**counts, "total": sum(counts.values())} for kind, counts in sorted(rows.items())},
                   by_severity=by_severity, total=total)


@dataclass
class DailySummary:
    day: date
    opened: Breakdown
    closed: Breakdown
    open_now: dict          # per severity, "total", "overdue", "unassigned", "escalated"
    held_trades: list
    held_count: int
    fails_past_deadline: list
    fails_count: int
    penalty_box: list
    penalty_box_count: int
    penalty_box_accounts: int


def daily_summary(*, day: date, now: datetime | None = None) -> DailySummary:
    """The compliance day on one page: alerts opened and closed on day (by kind and severity), alerts open now
    and their SLA breaches, trades HELD pending release, open fails past their Reg SHO close-out deadline on
    day, penalty-box entries in force on day. Every block is one aggregate query (and one for its rows)."""
    now = now or timezone.now()
    start, end = day_bounds(day)
    opened = Breakdown.of(Alert.objects.filter(opened_at__gte=start, opened_at__lt=end).order_by()
                          .values("kind", "severity").annotate(n=Count("id")))
    closed = Breakdown.of(Alert.objects.filter(state=AlertState.CLOSED, closed_at__gte=start, closed_at__lt=end)
                          .order_by().values("kind", "severity").annotate(n=Count("id")))
    is_open = Q(state__in=OPEN_STATES)
    aggregates = {s: Count("id", filter=is_open & Q(severity=s)) for s in SEVERITY_ORDER}
    aggregates |= {"total": Count("id", filter=is_open), "overdue": Count("id", filter=is_open & Q(due_at__lt=now)),
                   "unassigned": Count("id", filter=is_open & Q(owner__isnull=True)),
                   "escalated": Count("id", filter=Q(state=AlertState.ESCALATED))}
    open_now = Alert.objects.aggregate(**aggregates)

    # Through the events of trades held (no index of the blotter names status: records.trades.selectors).
    held = (trades_in_status(Trade.objects.all(), Trade.Status.HELD).select_related("account", "instrument")
            .order_by("trade_date", "id"))
    fails = (SettlementFail.objects.filter(open_on(day), close_out_deadline__lt=day)
             .select_related("instruction__account", "instruction__instrument").order_by("close_out_deadline", "id"))
    in_box = (Q(since__lte=day) & (Q(released_on__isnull=True) | Q(released_on__gt=day)))
    box = PenaltyBoxEntry.objects.filter(in_box).select_related("account", "instrument").order_by("-since", "-id")
    box_counts = PenaltyBoxEntry.objects.filter(in_box).aggregate(entries=Count("id"),
                                                                  accounts=Count("account", distinct=True))
    return DailySummary(
        day=day, opened=opened, closed=closed, open_now=open_now,
        held_trades=list(held[:SUMMARY_ROWS]), held_count=held.count(),
        fails_past_deadline=list(fails[:SUMMARY_ROWS]), fails_count=fails.count(),
        penalty_box=list(box[:SUMMARY_ROWS]), penalty_box_count=box_counts["entries"],
        penalty_box_accounts=box_counts["accounts"])
