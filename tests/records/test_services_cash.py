"""Cash movements (records.cash.services): a refused withdrawal changes nothing, and a balance always equals the
sum of its movements."""

import contextlib
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.core.exceptions import BusinessRuleError
from records.cash.models import CashBalance, CashMovement
from records.cash.services import cash_movement_create
from records.reference.services.reference import account_create

pytestmark = pytest.mark.django_db


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.decimals(min_value=Decimal("-5000"), max_value=Decimal("5000"), places=2)
                        .filter(lambda d: d != 0), min_size=1, max_size=15),
       credit_limit=st.decimals(min_value=0, max_value=2000, places=2))
def test_balance_always_equals_sum_of_movements(db, amounts, credit_limit):
    with transaction.atomic():
        account = account_create(actor="test", code=f"H-{uuid.uuid4().hex[:12]}", name="h", kind="HOUSE",
                                 base_currency="USD", credit_limit=credit_limit)
    for n, amount in enumerate(amounts):
        with contextlib.suppress(BusinessRuleError):  # a refused withdrawal changes nothing
            cash_movement_create(actor="test", account=account, currency="USD", amount=amount,
                                 value_date="2026-11-20", reference=f"{account.code}-{n}")
    total = sum(CashMovement.objects.filter(account=account).values_list("amount", flat=True), Decimal(0))
    balance = CashBalance.objects.filter(account=account).first()
    assert (balance.balance if balance else Decimal(0)) == total
    assert total >= -credit_limit
