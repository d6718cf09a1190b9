"""The full verification as a batch job (kind audit-verify): chunks by block range, the unsealed tail, one kept result.

Whatever is broken, the chunked run finds exactly what audit_verify() finds in one pass, and a run killed
midway resumes at the first chunk that did not commit.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.services import job_create, job_run_execute, job_run_now
from records.audit import jobs as audit_jobs
from records.audit.models import AuditRecord, AuditVerification
from records.audit.services.audit import content_hash
from records.audit.services.audit_chain import audit_seal, audit_verify, audit_verify_incremental
from tests.records.helpers_audit import behind_the_apps_back, write

pytestmark = pytest.mark.django_db

COMPARED = ("ok", "records_checked", "blocks_checked", "unsealed", "first_broken", "problems")


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: nothing after it runs, nothing catches it."""


@pytest.fixture
def blocks():
    """Twelve blocks of at most four records (45 records), and two records not sealed yet."""
    write(5, bulk=40)
    sealed = audit_seal(max_records=4)
    write(2)
    assert len(sealed) == 12
    return sealed


def kept(verification: AuditVerification) -> dict:
    return {name: getattr(verification, name) for name in COMPARED}


def found(result) -> dict:
    return json.loads(json.dumps({name: getattr(result, name) for name in COMPARED}))


def _alter_record(blocks):
    victim = AuditRecord.objects.filter(seal__block=blocks[7]).order_by("id")[2]
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditrecord SET reason = %s WHERE id = %s", ["nothing to see", victim.pk])


def _delete_record(blocks):
    victim = AuditRecord.objects.filter(seal__block=blocks[4]).order_by("id").first()
    with behind_the_apps_back() as cursor:
        cursor.execute("DELETE FROM records_auditrecord WHERE id = %s", [victim.pk])


def _remove_block(index):
    def remove(blocks):
        with behind_the_apps_back() as cursor:
            cursor.execute("DELETE FROM records_auditseal WHERE block_id = %s", [blocks[index].pk])
            cursor.execute("DELETE FROM records_auditblock WHERE id = %s", [blocks[index].pk])
    return remove


def _edit_header(blocks):
    with behind_the_apps_back() as cursor:
        cursor.execute("UPDATE records_auditblock SET record_count = 3 WHERE id = %s", [blocks[10].pk])


def _backdate_unsealed(blocks):
    at = timezone.now() - timedelta(days=30)
    forged = AuditRecord(at=at, actor_label="alice", action="DELETE", record_type="records.trade", record_id="7",
                         before={"qty": "100"}, after=None, reason="", correlation_id="")
    with behind_the_apps_back() as cursor:
        cursor.execute(
            "INSERT INTO records_auditrecord (at, actor_label, action, record_type, record_id, before, after, reason,"
            " correlation_id, content_hash) VALUES (%s, %s, %s, %s, %s, %s, NULL, '', '', %s)",
            [at, "alice", "DELETE", "records.trade", "7", json.dumps({"qty": "100"}), content_hash(forged)])


def _everything(blocks):
    for tamper in (_alter_record, _delete_record, _remove_block(3), _edit_header, _backdate_unsealed):
        tamper(blocks)


@pytest.mark.parametrize("tamper", [
    None, _alter_record, _delete_record, _remove_block(3), _remove_block(2), _edit_header, _backdate_unsealed,
    _everything,
], ids=["intact", "record altered", "record deleted", "first block of a chunk removed",
        "last block of a chunk removed", "block header edited", "backdated unsealed record", "all of them"])
def test_the_chunked_run_finds_exactly_what_one_pass_finds(blocks, tamper):
    if tamper:
        tamper(blocks)
    expected = audit_verify()

    job = job_run_now(kind="audit-verify", params={"blocks_per_chunk": 3}, started_by="job:test")

    verification = AuditVerification.objects.get()
    assert kept(verification) == found(expected)
    assert (verification.scope, verification.through_block_id, verification.through_hash) == (
        "FULL", blocks[-1].pk, blocks[-1].hash)
    assert (job.status, job.steps, job.rows_affected) == ("COMPLETED", [
        {"name": "verify", "chunks": 4, "done": 4}, {"name": "tail", "chunks": 1, "done": 1},
        {"name": "record", "chunks": 1, "done": 1}], expected.records_checked)
    assert job.result[-1] == {"rows": 0, "verification_id": verification.pk, "ok": expected.ok,
                              "records_checked": expected.records_checked, "blocks_checked": expected.blocks_checked,
                              "unsealed": expected.unsealed, "through_block": blocks[-1].pk,
                              "first_broken": verification.first_broken}
    assert [part["blocks"] for part in job.result[:4]] == [
        [blocks[0].pk, blocks[2].pk], [blocks[3].pk, blocks[5].pk], [blocks[6].pk, blocks[8].pk],
        [blocks[9].pk, blocks[11].pk]]
    if tamper is None:
        assert (expected.ok, expected.records_checked, expected.blocks_checked, expected.unsealed) == (True, 47, 12, 2)
    else:
        assert not expected.ok


def test_a_run_killed_after_its_first_chunk_resumes_with_the_missing_chunks_only(blocks, monkeypatch):
    _alter_record(blocks)
    expected = audit_verify()
    checked, killed = [], []
    verify_blocks = audit_jobs.audit_verify_blocks

    def worker(*, first_block, last_block):
        if len(checked) == 1 and not killed:
            killed.append(first_block)
            raise WorkerKilled
        checked.append((first_block, last_block))
        return verify_blocks(first_block=first_block, last_block=last_block)

    monkeypatch.setattr(audit_jobs, "audit_verify_blocks", worker)
    job = job_create(kind="audit-verify", params={"blocks_per_chunk": 3})
    with pytest.raises(WorkerKilled):
        job_run_execute(job_id=job.pk)
    dead = JobRun.objects.get(pk=job.pk)
    assert (dead.status, dead.chunks_done, dead.chunks_total) == ("RUNNING", 1, 6)
    assert not AuditVerification.objects.exists()

    # The redelivered message: the first range is not checked again.
    job = job_run_execute(job_id=job.pk)

    ranges = [(blocks[n].pk, blocks[n + 2].pk) for n in (0, 3, 6, 9)]
    assert checked == ranges and killed == [blocks[3].pk]
    assert (job.status, job.attempts, job.chunks_done) == ("COMPLETED", 2, 6)
    assert JobChunk.objects.filter(job=job, step="verify").count() == 4
    assert kept(AuditVerification.objects.get()) == found(expected)
    assert job.rows_affected == expected.records_checked


def test_the_blocks_to_verify_are_fixed_when_the_run_is_created(blocks):
    job = job_create(kind="audit-verify", params={"blocks_per_chunk": "5"})
    assert job.parameters == {"first_block": blocks[0].pk, "through_block": blocks[-1].pk, "blocks_per_chunk": 5}
    write(3)
    later = audit_seal()  # sealed after the run was created: left to the next verification

    job = job_run_execute(job_id=job.pk)

    verification = AuditVerification.objects.get()
    assert (verification.blocks_checked, verification.records_checked, verification.through_block_id) == (
        12, 45, blocks[-1].pk)
    assert [step["chunks"] for step in job.steps] == [3, 1, 1]
    # The next incremental verification starts where the run ended: at the block sealed after it was created.
    follow_up = audit_verify_incremental(actor="job:test")
    assert (follow_up.scope, follow_up.from_block, follow_up.blocks_checked, follow_up.records_checked) == (
        "INCREMENTAL", blocks[-1].pk, 1, later[0].record_count + 1)  # and the job's own audit record, unsealed


def test_a_chunk_aims_at_a_number_of_records_from_the_mean_block_size(blocks, monkeypatch):
    monkeypatch.setattr(audit_jobs, "RECORDS_PER_CHUNK", 8)
    assert job_create(kind="audit-verify").parameters["blocks_per_chunk"] == 2  # 8 records of 45 in 12 blocks
    monkeypatch.setattr(audit_jobs, "RECORDS_PER_CHUNK", 100_000)
    assert job_create(kind="audit-verify").parameters["blocks_per_chunk"] == audit_jobs.MAX_BLOCKS_PER_CHUNK


def test_with_no_block_sealed_the_run_checks_the_unsealed_records_only():
    write(2)
    job = job_run_now(kind="audit-verify")

    assert job.parameters == {"first_block": 1, "through_block": 0, "blocks_per_chunk": audit_jobs.MAX_BLOCKS_PER_CHUNK}
    assert [step["chunks"] for step in job.steps] == [0, 1, 1]
    verification = AuditVerification.objects.get()
    assert (verification.ok, verification.blocks_checked, verification.records_checked, verification.unsealed,
            verification.through_block_id) == (True, 0, 2, 2, None)


@pytest.mark.parametrize("parameters, field", [
    ({"through_block": "last"}, "through_block"), ({"through_block": -1}, "through_block"),
    ({"first_block": 0}, "first_block"), ({"blocks_per_chunk": "0"}, "blocks_per_chunk"),
    ({"blocks_per_chunk": True}, "blocks_per_chunk"), ({"through_block": 2.5}, "through_block"),
])
def test_a_malformed_boundary_is_refused_and_no_run_is_recorded(parameters, field):
    with pytest.raises(BusinessRuleError) as refused:
        job_create(kind="audit-verify", params=parameters)
    assert refused.value.field == field
    assert not JobRun.objects.exists()
