"""The audit trail is tamper-evident: every edit, deletion and insertion behind its back is detected."""

import datetime as dt
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from records.audit.models import AuditRecord
from records.audit.services.audit import AuditEntry, audit_log_bulk, content_hash, hash_fields
from records.audit.services.audit_chain import GENESIS, audit_seal, audit_verify, block_hash
from tests.records.helpers_audit import behind_the_apps_back, write

pytestmark = pytest.mark.django_db


def test_sealed_trail_verifies(db):
    write(5, bulk=20)
    blocks = audit_seal(max_records=10)
    assert [b.record_count for b in blocks] == [10, 10, 5]
    assert blocks[1].prev_hash == blocks[0].hash and blocks[2].prev_hash == blocks[1].hash
    result = audit_verify()
    assert result.ok, result.as_dict()
    assert (result.records_checked, result.blocks_checked, result.unsealed) == (25, 3, 0)
    assert audit_seal() == []  # nothing left: sealing is idempotent


def test_content_hash_survives_the_round_trip_through_the_database(db):
    write(1, bulk=3)
    records = list(AuditRecord.objects.all())
    assert len(records) == 4
    for record in records:
        assert record.content_hash and content_hash(record) == record.content_hash


def test_hashes_of_records_and_block_headers_are_the_bytes_they_were_sealed_with():
    # Digests pinned when the serialization moved to the kernel (backoffice.core.canonical): a change
    # to the canonical form would break the verification of every record and block already written.
    at = dt.datetime(2026, 11, 20, 17, 30, 0, 5, tzinfo=dt.UTC)
    assert hash_fields(at, 7, "zoë", "UPDATE", "records.trade", 42, {"price": "189.25", "b": [1, None, True]}, None,
                       "Prix corrigé", "req:1") == "f91b32629125da077fabe81dec96934ed630f3364c6cbddddc2b43515529b749"
    assert block_hash(first_record_id=1, last_record_id=3, record_count=3, records_hash="ab" * 32, prev_hash=GENESIS,
                      sealed_at=dt.datetime(2026, 11, 20, 17, 30, 0, 123456, tzinfo=dt.UTC)) == (
        "94275b8a10b6a2c1e4e847fb9073657a739c3717de6ed538a346a86695a74cfe")


def test_bulk_hashes_match_what_verification_recomputes_for_awkward_values(db):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    # Any text but NUL and lone surrogates, which neither UTF-8 nor PostgreSQL can hold (the API
    # refuses both before anything is written: control characters and surrogates are 400s).
    text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
    values = st.recursive(st.none() | st.booleans() | st.integers() | text | st.decimals(allow_nan=False,
                                                                                           allow_infinity=False),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                          max_leaves=8)
    snapshots = st.none() | st.dictionaries(text, values, max_size=5)

    @settings(max_examples=150, deadline=None)
    @given(before=snapshots, after=snapshots, reason=text, record_id=st.integers() | text,
           record_type=st.sampled_from(["records.trade", 'odd"type\\', "récord"]) | text)
    def check(before, after, reason, record_id, record_type):
        with transaction.atomic():
            last = AuditRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
            audit_log_bulk(actor="job:tést", action="UPDATE", reason=reason,
                           entries=[AuditEntry(record_type, record_id, before, after),
                                    AuditEntry("records.trade", record_id, before, after)])
            written = list(AuditRecord.objects.filter(id__gt=last))
            assert len(written) == 2
            for record in written:
                assert content_hash(record) == record.content_hash, (before, after, reason)

    check()


def test_an_edited_record_is_detected(db):
    write(5)
    audit_seal()
    victim = AuditRecord.objects.order_by("id")[2]
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditrecord SET reason = %s WHERE id = %s", ["nothing to see", victim.pk])
    result = audit_verify()
    assert not result.ok
    assert result.first_broken["problem"] == "record altered" and result.first_broken["record_id"] == victim.pk


def test_an_edited_after_value_is_detected(db):
    write(3)
    audit_seal()
    victim = AuditRecord.objects.order_by("id").first()
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditrecord SET after = %s WHERE id = %s", [json.dumps({"q": "999"}),
                                                                                   victim.pk])
    assert audit_verify().first_broken["record_id"] == victim.pk


def test_a_deleted_record_is_detected(db):
    write(5)
    block = audit_seal()[0]
    victim = AuditRecord.objects.order_by("id")[1]
    with behind_the_apps_back() as cursor:
        cursor.execute("DELETE FROM records_auditrecord WHERE id = %s", [victim.pk])
    result = audit_verify()
    assert not result.ok
    assert result.first_broken == {"problem": "records missing", "block_id": block.pk,
                                   "detail": "block sealed 5 records; 4 found, 5 seals"}


def test_a_deleted_record_and_its_seal_are_detected(db):
    write(5)
    audit_seal()
    victim = AuditRecord.objects.order_by("id")[1]
    with behind_the_apps_back() as cursor:
        cursor.execute("DELETE FROM records_auditseal WHERE record_id = %s", [victim.pk])
        cursor.execute("DELETE FROM records_auditrecord WHERE id = %s", [victim.pk])
    assert audit_verify().first_broken["problem"] == "records missing"


def test_a_record_inserted_into_a_sealed_block_is_detected(db):
    write(3)
    block = audit_seal()[0]
    forged = AuditRecord(at=timezone.now(), actor_label="alice", action="UPDATE", record_type="records.cashbalance",
                         record_id="1", before={}, after={"balance": "1000000"}, reason="", correlation_id="")
    forged.content_hash = content_hash(forged)  # a careful forger computes the right content hash
    forged.save(force_insert=True)
    with behind_the_apps_back() as cursor:
        cursor.execute("INSERT INTO records_auditseal (record_id, block_id) VALUES (%s, %s)", [forged.pk, block.pk])
    result = audit_verify()
    assert result.first_broken["problem"] == "records inserted" and result.first_broken["block_id"] == block.pk


def test_a_backdated_record_slipped_in_after_sealing_is_detected(db):
    write(3)
    audit_seal()
    with behind_the_apps_back() as cursor:
        at = timezone.now() - timedelta(days=30)
        forged = AuditRecord(at=at, actor_label="alice", action="DELETE", record_type="records.trade",
                             record_id="7", before={"qty": "100"}, after=None, reason="", correlation_id="")
        cursor.execute(
            "INSERT INTO records_auditrecord (at, actor_label, action, record_type, record_id, before, after, reason,"
            " correlation_id, content_hash) VALUES (%s, %s, %s, %s, %s, %s, NULL, '', '', %s)",
            [at, "alice", "DELETE", "records.trade", "7", json.dumps({"qty": "100"}), content_hash(forged)])
    result = audit_verify()
    assert result.first_broken["problem"] == "record inserted"


def test_an_unsealed_record_with_a_wrong_hash_is_detected(db):
    write(2)
    with behind_the_apps_back() as cursor:
        cursor.execute(
            "INSERT INTO records_auditrecord (at, actor_label, action, record_type, record_id, before, after, reason,"
            " correlation_id, content_hash) VALUES (%s, 'x', 'CREATE', 'records.trade', '1', NULL, NULL, '', '', "
            "'deadbeef')", [timezone.now()])
    assert audit_verify().first_broken["problem"] == "record altered"


def test_a_removed_or_altered_block_breaks_the_chain(db):
    write(6)
    blocks = audit_seal(max_records=2)
    with behind_the_apps_back() as cursor:
        cursor.execute("DELETE FROM records_auditseal WHERE block_id = %s", [blocks[1].pk])
        cursor.execute("DELETE FROM records_auditblock WHERE id = %s", [blocks[1].pk])
    result = audit_verify()
    assert result.first_broken["problem"] == "chain broken" and result.first_broken["block_id"] == blocks[2].pk


def test_a_block_header_edit_is_detected(db):
    write(2)
    block = audit_seal()[0]
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditblock SET record_count = 1 WHERE id = %s", [block.pk])
    assert audit_verify().first_broken["problem"] == "block altered"
