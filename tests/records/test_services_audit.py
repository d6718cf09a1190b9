"""The audit service (records.audit.services.audit): a record is written inside the change's transaction and rolls
back with it; a batch's records are written set-based, one row per change."""

import pytest
from django.db import transaction

from records.audit.models import AuditRecord
from records.audit.services.audit import AuditEntry, audit_log, audit_log_bulk


@pytest.mark.django_db(transaction=True)
def test_audit_log_refuses_to_write_outside_a_transaction():
    # The seed fixture of transactional tests writes audit records of its own (the role groups): count ours.
    with pytest.raises(RuntimeError):
        audit_log(actor="test", action="CREATE", record_type="x.y", record_id=1, after={})
    assert not AuditRecord.objects.filter(record_type="x.y").exists()


@pytest.mark.django_db
def test_audit_record_rolls_back_with_its_change():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_log(actor="job:test", action="CREATE", record_type="x.y", record_id=1, after={"a": 1})
        1 / 0  # noqa: B018
    assert AuditRecord.objects.count() == 0


@pytest.mark.django_db
def test_bulk_audit_writes_one_row_per_change_with_the_job_as_actor(django_assert_max_num_queries):
    entries = [AuditEntry("records.position", str(n), {"q": n}, {"q": n + 1}) for n in range(5000)]
    with transaction.atomic(), django_assert_max_num_queries(5):
        assert audit_log_bulk(actor="job:settlement", action="UPDATE", entries=entries, reason="run 1") == 5000
    assert AuditRecord.objects.filter(actor_label="job:settlement", reason="run 1").count() == 5000
