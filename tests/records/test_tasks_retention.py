"""The purge task (records.purge): every registered record type, under the purge's own actor."""

from datetime import timedelta

import pytest

from records.retention import services as retention
from records.retention.rules import years_before
from tests.records.helpers_retention import old_trade, tombstones

pytestmark = pytest.mark.django_db


def test_purge_task_runs_every_registered_type(firm, today):
    from records.retention.tasks import purge_task

    old_trade(firm, years_before(today, 6) - timedelta(days=5))
    results = purge_task.delay().get()
    assert {r["record_type"] for r in results} == set(retention.PURGE_REGISTRY)
    assert [r["purged"] for r in results if r["record_type"] == "records.trade"] == [1]
    assert tombstones()[0].actor_label == retention.PURGE_ACTOR
