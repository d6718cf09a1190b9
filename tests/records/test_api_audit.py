"""The audit trail API: search by record, action and dates, for the roles that keep the books; verification."""

import pytest
from django.utils import timezone

from records.audit.models import AuditRecord, AuditVerification
from records.audit.services.audit_chain import audit_seal
from tests.records.helpers_audit import behind_the_apps_back, write

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
    assert (verify["ok"], verify["first_broken"], verify["scope"], verify["from_block"]) == (True, None, "FULL", None)
    # Every record: the verification's own audit record is written after it counted.
    assert verify["records_checked"] == AuditRecord.objects.count() - 1
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditrecord SET actor_label = 'mallory'")
    verify = ops_client.get("/api/v1/records/audit/verify/").json()
    # Incremental: nothing sealed since, so only the unsealed tail (that audit record) is checked, and found altered.
    assert (verify["scope"], verify["blocks_checked"], verify["records_checked"]) == ("INCREMENTAL", 0, 1)
    assert verify["ok"] is False and verify["first_broken"]["problem"] == "record altered"


def test_verify_answers_for_the_blocks_sealed_since_the_last_verification(ops_client, compliance_client, fo_client):
    write(4)
    first_block = audit_seal()[0]
    full = ops_client.get("/api/v1/records/audit/verify/").json()
    assert (full["scope"], full["from_block"], full["blocks_checked"], full["records_checked"]) == (
        "FULL", None, 1, first_block.record_count)
    write(6)
    new_blocks = audit_seal(max_records=4)  # the six, and the first verification's audit record

    body = compliance_client.get("/api/v1/records/audit/verify/").json()

    assert body == {"ok": True, "records_checked": 7, "blocks_checked": 2, "unsealed": 0, "first_broken": None,
                    "problems": [], "scope": "INCREMENTAL", "from_block": first_block.pk}
    assert sum(block.record_count for block in new_blocks) == 7
    latest = AuditVerification.objects.order_by("id").last()
    assert (latest.scope, latest.requested_by, latest.through_block_id) == ("INCREMENTAL", "comp", new_blocks[-1].pk)

    write(1)
    newest = audit_seal()[0]
    assert newest.record_count == 2
    victim = AuditRecord.objects.filter(seal__block=newest).order_by("id").last()
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditrecord SET reason = 'x' WHERE id = %s", [victim.pk])
    body = ops_client.get("/api/v1/records/audit/verify/").json()
    assert (body["ok"], body["scope"], body["from_block"], body["records_checked"]) == (
        False, "INCREMENTAL", new_blocks[-1].pk, 2)  # the new record and the last verification's audit record
    assert body["first_broken"] == {"problem": "record altered", "record_id": victim.pk, "block_id": newest.pk,
                                    "detail": "content hash does not match the record's content"}
    verifications = AuditVerification.objects.count()
    assert fo_client.get("/api/v1/records/audit/verify/").status_code == 403
    assert AuditVerification.objects.count() == verifications
