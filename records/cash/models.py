"""Cash: movements in and out of accounts, and the running balance per account and currency."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from backoffice.core.fields import AmountField
from records.reference.models import Account
from records.reference.validators import validate_currency


class CashMovement(models.Model):
    """One movement of cash in or out of an account. Never edited; corrected by a new movement."""

    class Kind(models.TextChoices):
        DEPOSIT = "DEPOSIT", "Deposit"
        WITHDRAWAL = "WITHDRAWAL", "Withdrawal"
        OPENING = "OPENING", "Opening balance"
        ADJUSTMENT = "ADJUSTMENT", "Adjustment"
        SETTLEMENT = "SETTLEMENT", "Settlement"
        FEE = "FEE", "Fee or penalty"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cash_movements")
    currency = models.CharField(max_length=3, validators=[validate_currency])
    amount = AmountField()
    value_date = models.DateField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    reference = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-value_date", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="cashmovement_amount_not_0")]
        indexes = [models.Index(fields=["account", "currency", "value_date"], name="cash_acct_ccy_date_idx")]

    def __str__(self):
        return f"{self.reference} {self.account_id} {self.amount} {self.currency}"


class CashBalance(models.Model):
    """Running cash balance per account and currency; equals the sum of its movements.

    `reserved` is cash earmarked for pending settlements; available = balance - reserved.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cash_balances")
    currency = models.CharField(max_length=3, validators=[validate_currency])
    balance = AmountField(default=0)
    reserved = AmountField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account_id", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["account", "currency"], name="cashbalance_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="cashbalance_reserved_gte_0"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.currency} {self.balance}"

    @property
    def available(self):
        return self.balance - self.reserved
