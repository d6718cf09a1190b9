"""Reads of the compliance rules: which are in force, and which of them apply to a trade.

Scope resolution (see compliance/rules/models.py): for each kind, the rules of the most specific scope
covering the trade (ACCOUNT, then INSTRUMENT, then ASSET_CLASS, then ALL) in force on its trade date.
"""

from collections.abc import Iterable
from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from compliance.rules.models import PRETRADE_KINDS, SURVEILLANCE_KINDS, ComplianceRule, RuleScope, RuleVersion
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord

SCOPE_ORDER = (RuleScope.ACCOUNT, RuleScope.INSTRUMENT, RuleScope.ASSET_CLASS, RuleScope.ALL)


def rule_list() -> QuerySet[ComplianceRule]:
    return ComplianceRule.objects.all()


def rule_get(rule_id) -> ComplianceRule | None:
    try:
        return ComplianceRule.objects.filter(pk=int(rule_id)).first()
    except (TypeError, ValueError):
        return None


def rules_in_force(*, kinds: Iterable[str], date_from: date, date_to: date | None = None) -> list[ComplianceRule]:
    """The active rules of these kinds in force on some day of [date_from, date_to]: one query."""
    date_to = date_to or date_from
    return list(ComplianceRule.objects.filter(
        Q(effective_from__isnull=True) | Q(effective_from__lte=date_to),
        Q(effective_to__isnull=True) | Q(effective_to__gte=date_from),
        kind__in=list(kinds), active=True).order_by("kind", "code"))


def rule_covers(rule: ComplianceRule, *, account, instrument) -> bool:
    """Whether the rule's scope covers a trade of this account in this instrument."""
    if rule.scope == RuleScope.ALL:
        return True
    if rule.scope == RuleScope.ACCOUNT:
        return account.code == rule.scope_value
    if rule.scope == RuleScope.INSTRUMENT:
        return instrument.isin == rule.scope_value
    return instrument.asset_class == rule.scope_value


def rules_applying(rules: Iterable[ComplianceRule], *, account, instrument, day: date) -> list[ComplianceRule]:
    """Of `rules` (one kind), those that apply to a trade: the most specific covering scope's, in force on day."""
    covering = [r for r in rules if r.in_force(day) and rule_covers(r, account=account, instrument=instrument)]
    for scope in SCOPE_ORDER:
        level = [r for r in covering if r.scope == scope]
        if level:
            return level
    return []


# The rules' pages and API ----------------------------------------------------------------------

RULE_CHANGE = "compliance.rule.change"  # compliance/rules/kinds.py (kept here: selectors import no services)


def kinds_of_stage(stage: str) -> list[str]:
    """The kinds checked before a trade books (PRETRADE) or by the surveillance job (SURVEILLANCE)."""
    return list(PRETRADE_KINDS if stage == "PRETRADE" else SURVEILLANCE_KINDS if stage == "SURVEILLANCE" else ())


def rule_get_with_versions(rule_id) -> ComplianceRule | None:
    """A rule with its earlier versions (newest first) and who changed each."""
    try:
        rule_id = int(rule_id)
    except (TypeError, ValueError):
        return None
    return (ComplianceRule.objects.prefetch_related(
        Prefetch("versions", queryset=RuleVersion.objects.select_related("changed_by").order_by("-version")))
        .filter(pk=rule_id).first())


def rule_pending_change_id(rule: ComplianceRule) -> int | None:
    """The id of the change to this rule awaiting approval, if any."""
    return (ChangeRequest.objects.filter(kind=RULE_CHANGE, target_id=rule.code, status=ChangeRequest.Status.PENDING)
            .order_by("id").values_list("id", flat=True).first())


def rule_pending_changes() -> QuerySet[ChangeRequest]:
    """Every proposal of a rule or a change to one awaiting approval, oldest first."""
    return (ChangeRequest.objects.filter(kind=RULE_CHANGE, status=ChangeRequest.Status.PENDING)
            .select_related("proposed_by").order_by("id"))


def rule_search(*, stage: str | None = None, kind: str | None = None, scope: str | None = None,
                action: str | None = None, severity: str | None = None, state: str | None = None,
                search: str | None = None, today: date | None = None) -> QuerySet[ComplianceRule]:
    """Rules by kind and code, filtered. state: IN_FORCE (active, today within its dates), ACTIVE, INACTIVE."""
    rows = ComplianceRule.objects.order_by("kind", "code")
    if stage:
        rows = rows.filter(kind__in=kinds_of_stage(stage))
    if kind:
        rows = rows.filter(kind=kind)
    if scope:
        rows = rows.filter(scope=scope)
    if action:
        rows = rows.filter(action=action)
    if severity:
        rows = rows.filter(severity=severity)
    if state == "IN_FORCE":
        day = today or timezone.localdate()
        rows = rows.filter(Q(effective_from__isnull=True) | Q(effective_from__lte=day),
                           Q(effective_to__isnull=True) | Q(effective_to__gte=day), active=True)
    elif state == "ACTIVE":
        rows = rows.filter(active=True)
    elif state == "INACTIVE":
        rows = rows.filter(active=False)
    if search:
        rows = rows.filter(Q(code__icontains=search) | Q(name__icontains=search) | Q(scope_value__iexact=search))
    return rows


def rule_creation(rule: ComplianceRule) -> AuditRecord | None:
    """The audit record of the rule's creation (who made version 1 and why); None for the seeded rules."""
    return (AuditRecord.objects.filter(record_type="compliance.compliancerule", record_id=str(rule.pk),
                                       action="CREATE").order_by("id").first())
