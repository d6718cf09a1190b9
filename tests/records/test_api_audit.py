"""The audit trail API: search by record, action and dates, for the roles that keep the books; verification."""

import pytest
from django.utils import timezone

from records.audit.models import AuditRecord
from records.audit.services.audit_chain import audit_seal
from tests.records.helpers_audit import behind_the_apps_back

pytestmark = pytest.mark.django_db


def test_audit_api_search_and_verify(compliance_client, fo_client, ops_client, instruments):
    audit_seal()
    body = compliance_client.get("/api/v1/records/audit/?record_type=records.instrument&action=CREATE").json()
    assert body["count"] == 4
    assert {r["actor"] for r in body["results"]} == {"test"}
    assert all(r["block"] for r in body["results"])
    today = timezone.localdate().isoformat()
    assert compliance_client.get(f"/api/v1/records/audit/?record_type=records.instrument&date_from={today}").json()[
        "count"] == 4
    assert compliance_client.get("/api/v1/records/audit/?date_from=2000-01-01&date_to=2000-01-02").json()[
        "count"] == 0
    assert compliance_client.get("/api/v1/records/audit/?date_from=nope").status_code == 400
    assert fo_client.get("/api/v1/records/audit/").status_code == 403
    verify = ops_client.get("/api/v1/records/audit/verify/").json()
    assert verify["ok"] is True and verify["first_broken"] is None
    assert verify["records_checked"] == AuditRecord.objects.count()
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditrecord SET actor_label = 'mallory'")
    verify = ops_client.get("/api/v1/records/audit/verify/").json()
    assert verify["ok"] is False and verify["first_broken"]["problem"] == "record altered"
