"""Incremental verification: from the last kept verification's block, only what was sealed since, and a broken
chain stays broken."""

import pytest
from django.db.models import Sum

from records.audit.models import AuditBlock, AuditRecord, AuditVerification
from records.audit.services.audit_chain import audit_seal, audit_verify, audit_verify_incremental
from tests.records.helpers_audit import behind_the_apps_back, write

pytestmark = pytest.mark.django_db


def verify():
    return audit_verify_incremental(actor="job:test")


def records_in(blocks) -> int:
    return AuditBlock.objects.filter(pk__in=[block.pk for block in blocks]).aggregate(n=Sum("record_count"))["n"]


def test_without_a_kept_verification_it_verifies_every_block_and_keeps_the_result_as_the_anchor():
    write(5, bulk=10)
    blocks = audit_seal(max_records=4)

    result = verify()

    assert (result.scope, result.from_block, result.ok, result.blocks_checked, result.records_checked,
            result.unsealed) == ("FULL", None, True, 4, 15, 0)
    kept = AuditVerification.objects.get()
    assert (kept.scope, kept.ok, kept.records_checked, kept.blocks_checked, kept.through_block_id,
            kept.through_hash, kept.requested_by) == ("FULL", True, 15, 4, blocks[-1].pk, blocks[-1].hash, "job:test")
    audit = AuditRecord.objects.get(record_type="records.auditverification")
    assert (audit.record_id, audit.reason) == (str(kept.pk), "audit chain verified")


def test_it_checks_only_the_blocks_sealed_since_the_anchor_and_moves_the_anchor_on():
    write(5, bulk=10)
    audit_seal(max_records=4)
    first = verify()
    write(3, bulk=4)
    new_blocks = audit_seal(max_records=4)  # the new records and the first verification's audit record
    assert len(new_blocks) == 2

    result = verify()

    assert (result.scope, result.from_block, result.ok, result.first_broken) == (
        "INCREMENTAL", first.through_block_id, True, None)
    assert (result.blocks_checked, result.records_checked, result.unsealed) == (2, records_in(new_blocks), 0)
    assert result.records_checked == 8
    kept = AuditVerification.objects.order_by("id").last()
    assert (kept.scope, kept.through_block_id, kept.through_hash, kept.records_checked, kept.blocks_checked) == (
        "INCREMENTAL", new_blocks[-1].pk, new_blocks[-1].hash, 8, 2)
    newest_audit = AuditRecord.objects.filter(record_type="records.auditverification").first()  # newest first
    assert newest_audit.reason == (
        f"audit chain verified after block {first.through_block_id}")


def test_it_checks_the_unsealed_tail_each_time_and_counts_it():
    write(2)
    audit_seal()
    verify()
    write(3)  # not sealed: with the first verification's audit record, four unsealed records

    result = verify()

    assert (result.scope, result.blocks_checked, result.records_checked, result.unsealed, result.ok) == (
        "INCREMENTAL", 0, 4, 4, True)


def test_with_nothing_sealed_since_the_anchor_it_writes_nothing():
    write(4)
    anchor_block = audit_seal()[0]
    verify()
    verifications, records = AuditVerification.objects.count(), AuditRecord.objects.count()

    result = verify()

    # Only the tail: the kept verification's own audit record, not sealed yet.
    assert (result.scope, result.from_block, result.blocks_checked, result.records_checked, result.unsealed,
            result.ok) == ("INCREMENTAL", anchor_block.pk, 0, 1, 1, True)
    assert (AuditVerification.objects.count(), AuditRecord.objects.count()) == (verifications, records)


def test_a_record_altered_in_a_block_sealed_since_the_anchor_is_detected_and_kept_as_broken():
    write(3)
    audit_seal()
    verify()
    write(4)
    new_block = audit_seal()[0]
    victim = AuditRecord.objects.filter(seal__block=new_block).order_by("id")[1]
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditrecord SET reason = %s WHERE id = %s", ["nothing to see", victim.pk])

    result = verify()

    assert not result.ok
    assert result.first_broken == {"problem": "record altered", "record_id": victim.pk, "block_id": new_block.pk,
                                   "detail": "content hash does not match the record's content"}
    kept = AuditVerification.objects.order_by("id").last()
    assert (kept.scope, kept.ok, kept.first_broken, kept.through_block_id) == (
        "INCREMENTAL", False, result.first_broken, new_block.pk)


def test_a_block_removed_right_after_the_anchor_breaks_the_chain():
    write(3)
    audit_seal()
    verify()
    write(4)
    removed, following = audit_seal(max_records=2)[:2]
    with behind_the_apps_back() as cursor:
        cursor.execute("DELETE FROM records_auditseal WHERE block_id = %s", [removed.pk])
        cursor.execute("DELETE FROM records_auditblock WHERE id = %s", [removed.pk])

    result = verify()

    assert result.first_broken["problem"] == "chain broken" and result.first_broken["block_id"] == following.pk


@pytest.mark.parametrize("tamper, detail", [
    (["UPDATE records_auditblock SET record_count = record_count + 1 WHERE id = %s"],
     "block header does not match its hash"),
    (["UPDATE records_auditblock SET hash = repeat('f', 64) WHERE id = %s"],
     "the block's hash is not the one the last verification saw"),
    (["DELETE FROM records_auditseal WHERE block_id = %s", "DELETE FROM records_auditblock WHERE id = %s"],
     "the block the last verification ended at is gone"),
])
def test_an_anchor_block_altered_after_it_was_verified_is_reported(tamper, detail):
    write(3)
    anchor_block = audit_seal()[0]
    verify()
    write(2)
    audit_seal()
    with behind_the_apps_back() as cursor:
        for statement in tamper:
            cursor.execute(statement, [anchor_block.pk])

    result = verify()

    assert (result.scope, result.ok) == ("INCREMENTAL", False)
    assert result.first_broken == {"problem": "block altered after verification", "block_id": anchor_block.pk,
                                   "detail": detail}
    assert AuditVerification.objects.order_by("id").last().first_broken == result.first_broken


def test_a_broken_chain_stays_broken_when_the_blocks_sealed_since_are_intact():
    write(3)
    audit_seal()
    victim = AuditRecord.objects.order_by("id").first()
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditrecord SET reason = %s WHERE id = %s", ["nothing to see", victim.pk])
    broken = verify()
    assert broken.first_broken["record_id"] == victim.pk
    write(2)
    audit_seal()

    result = verify()

    assert (result.scope, result.ok, result.first_broken, result.records_checked) == (
        "INCREMENTAL", False, broken.first_broken, 3)  # two records and the first verification's audit record
    assert result.problems == broken.problems
    later = AuditVerification.objects.order_by("id").last()
    assert (later.ok, later.first_broken) == (False, broken.first_broken)


def test_the_blocks_up_to_the_anchor_are_not_recomputed_the_full_verification_does_that():
    write(3)
    audit_seal()
    verify()
    victim = AuditRecord.objects.order_by("id").first()
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditrecord SET reason = %s WHERE id = %s", ["nothing to see", victim.pk])
    write(1)
    audit_seal()

    assert verify().ok
    assert audit_verify().first_broken["record_id"] == victim.pk


def test_the_tail_is_read_after_the_anchor_blocks_last_record_and_the_full_verification_reads_the_rest():
    write(3)
    anchor_block = audit_seal()[0]
    verify()
    write(2)  # with the verification's audit record: three unsealed records after the anchor block
    # A sealed record below the anchor made to look unsealed: no longer in its block's membership.
    victim = AuditRecord.objects.filter(seal__block=anchor_block).order_by("id").first()
    with behind_the_apps_back() as cursor:
        cursor.execute("DELETE FROM records_auditseal WHERE record_id = %s", [victim.pk])

    result = verify()

    assert (result.scope, result.blocks_checked, result.unsealed, result.records_checked, result.ok) == (
        "INCREMENTAL", 0, 3, 3, True)
    full = audit_verify()
    assert not full.ok and full.unsealed == 4
