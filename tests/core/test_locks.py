"""backoffice.core.locks.lock_or_create: one row per key, however many transactions ask at once."""

import threading

import pytest
from django.db import connection, transaction

from backoffice.core.locks import lock_or_create
from records.cash.models import CashBalance


@pytest.mark.django_db
def test_it_creates_the_missing_row_then_returns_the_same_one(accounts):
    with transaction.atomic():
        first = lock_or_create(CashBalance, account=accounts["ACC-001"], currency="USD")
        again = lock_or_create(CashBalance, account=accounts["ACC-001"], currency="USD")
    assert first.pk == again.pk
    assert CashBalance.objects.filter(account=accounts["ACC-001"], currency="USD").count() == 1


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_refuses_and_creates_nothing(accounts):
    from django.db.transaction import TransactionManagementError

    with pytest.raises(TransactionManagementError):
        lock_or_create(CashBalance, account=accounts["ACC-001"], currency="USD")
    assert not CashBalance.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_eight_transactions_asking_at_once_get_one_row_and_wait_for_each_other(accounts):
    account = accounts["ACC-001"]
    barrier = threading.Barrier(8)
    got, errors, holding = [], [], []

    def ask():
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                row = lock_or_create(CashBalance, account=account, currency="EUR")
                holding.append(1)
                assert len(holding) == 1, "two transactions held the lock at once"
                got.append(row.pk)
                holding.pop()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(got) == 8 and len(set(got)) == 1
    assert CashBalance.objects.filter(account=account, currency="EUR").count() == 1
