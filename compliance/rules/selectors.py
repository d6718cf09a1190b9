"""Reads of the compliance rules: which are in force, and which of them apply to a trade.

Scope resolution (see compliance/rules/models.py): for each kind, the rules of the most specific scope
covering the trade (ACCOUNT, then INSTRUMENT, then ASSET_CLASS, then ALL) in force on its trade date.
"""

from collections.abc import Iterable
from datetime import date

from django.db.models import Q, QuerySet

from compliance.rules.models import ComplianceRule, RuleScope

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
