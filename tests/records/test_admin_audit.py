"""The audit trail in the admin: a record outlives the user who made the change."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_an_audit_record_of_a_deleted_user_still_opens_in_the_admin(web):
    from django.db import transaction

    from records.audit.models import AuditRecord
    from records.audit.services.audit import audit_log
    from tests.conftest import make_user

    gone = make_user("leaver", "operations")
    with transaction.atomic():
        record = audit_log(actor=gone, action="UPDATE", record_type="records.account", record_id="1",
                           before={"name": "A"}, after={"name": "B"}, reason="rename")
    gone_id = gone.pk
    gone.delete()  # the trail keeps the id and the name; nothing rewrites audit rows

    kept = AuditRecord.objects.get(pk=record.pk)
    assert (kept.actor_id, kept.actor_label) == (gone_id, "leaver")
    response = web.get(reverse("admin:records_auditrecord_change", args=[record.pk]))
    assert response.status_code == 200
    assert b"leaver" in response.content
    assert web.get(reverse("admin:records_auditrecord_changelist")).status_code == 200
