"""Compliance rules as data: what each pre-trade check and surveillance scenario looks for, and what it does.

A rule has a kind from a documented list (KINDS below; docs/compliance.md describes each), a scope (every
trade, one account, one instrument or one asset class), a threshold and parameters whose meaning the kind
gives, an action (REJECT or HOLD a trade before it is booked, or ALERT a person after), a severity, and
effective dates. Rules change only through maker-checker (compliance/rules/kinds.py); every change bumps
``version`` and keeps the rule as it was in RuleVersion, so an alert or a refusal names the version that
raised it.

Which rules apply to a trade: for each kind, the rules of the most specific scope that covers the trade
(ACCOUNT, then INSTRUMENT, then ASSET_CLASS, then ALL) and is in force on its trade date; every rule at that
level applies (a HOLD at 50M and a REJECT at 250M may stand side by side).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from backoffice.core.fields import AmountField


class RuleKind(models.TextChoices):
    # Pre-trade (evaluated on every trade before it is booked; action REJECT, HOLD or ALERT).
    ACCOUNT_STATUS = "ACCOUNT_STATUS", "Account status and KYC"
    BUYING_POWER = "BUYING_POWER", "Buying power"
    SHORT_SALE = "SHORT_SALE", "Short sale without locate"
    POSITION_LIMIT = "POSITION_LIMIT", "Position limit"
    CONCENTRATION = "CONCENTRATION", "Concentration"
    NOTIONAL = "NOTIONAL", "Notional per trade"
    QUANTITY = "QUANTITY", "Quantity per trade"
    PRICE_DEVIATION = "PRICE_DEVIATION", "Price away from the last price"
    # Post-trade surveillance (evaluated by the surveillance job; action ALERT).
    WASH_TRADE = "WASH_TRADE", "Wash trades"
    LARGE_TRADE = "LARGE_TRADE", "Large trade against average daily volume"
    STRUCTURING = "STRUCTURING", "Structuring of cash movements"
    MARKING_CLOSE = "MARKING_CLOSE", "Marking the close"
    FAIL_CLOSE_OUT = "FAIL_CLOSE_OUT", "Fail past its Reg SHO close-out deadline"


PRETRADE_KINDS = (RuleKind.ACCOUNT_STATUS, RuleKind.BUYING_POWER, RuleKind.SHORT_SALE, RuleKind.POSITION_LIMIT,
                  RuleKind.CONCENTRATION, RuleKind.NOTIONAL, RuleKind.QUANTITY, RuleKind.PRICE_DEVIATION)
SURVEILLANCE_KINDS = (RuleKind.WASH_TRADE, RuleKind.LARGE_TRADE, RuleKind.STRUCTURING, RuleKind.MARKING_CLOSE,
                      RuleKind.FAIL_CLOSE_OUT)


class RuleScope(models.TextChoices):
    ALL = "ALL", "Every trade"
    ACCOUNT = "ACCOUNT", "One account"
    INSTRUMENT = "INSTRUMENT", "One instrument"
    ASSET_CLASS = "ASSET_CLASS", "One asset class"


class RuleAction(models.TextChoices):
    REJECT = "REJECT", "Reject"
    HOLD = "HOLD", "Hold"
    ALERT = "ALERT", "Alert"


class Severity(models.TextChoices):
    LOW = "LOW", "Low"
    MEDIUM = "MEDIUM", "Medium"
    HIGH = "HIGH", "High"
    CRITICAL = "CRITICAL", "Critical"


SEVERITY_ORDER = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class ComplianceRule(models.Model):
    code = models.CharField(max_length=50, unique=True, help_text="Short unique name, shown with every hit.")
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    scope = models.CharField(max_length=12, choices=RuleScope.choices, default=RuleScope.ALL)
    # The account code, the ISIN or the asset class the rule is limited to; empty for ALL.
    scope_value = models.CharField(max_length=30, blank=True)
    threshold = AmountField(null=True, blank=True, help_text="The limit; its unit depends on the kind.")
    params = models.JSONField(default=dict, blank=True, help_text="The kind's other parameters.")
    action = models.CharField(max_length=6, choices=RuleAction.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    active = models.BooleanField(default=True)
    effective_from = models.DateField(null=True, blank=True, help_text="First trade date in force; empty: always.")
    effective_to = models.DateField(null=True, blank=True, help_text="Last trade date in force; empty: open-ended.")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_from__isnull=True)
                                   | Q(effective_to__gte=F("effective_from")), name="rule_effective_range"),
            models.CheckConstraint(condition=Q(scope="ALL", scope_value="") | (~Q(scope="ALL") & ~Q(scope_value="")),
                                   name="rule_scope_value"),
        ]

    def __str__(self):
        return self.code

    def in_force(self, day) -> bool:
        return (self.active and (self.effective_from is None or self.effective_from <= day)
                and (self.effective_to is None or day <= self.effective_to))


class RuleVersion(models.Model):
    """A rule as it was before a change (append-only): the rule's history, version by version."""

    rule = models.ForeignKey(ComplianceRule, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    values = models.JSONField(help_text="Every field of the rule in that version.")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    changed_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["rule_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="ruleversion_unique")]

    def __str__(self):
        return f"{self.rule_id} v{self.version}"
