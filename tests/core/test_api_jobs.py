"""GET /api/v1/jobs/ and /api/v1/jobs/{id}/, and POST /api/v1/records/audit/verify/ answering 202 with the job."""

import pytest

from backoffice.core.jobs import registry
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.registry import JobKind, Step
from backoffice.core.jobs.services import job_create, job_run_execute
from records.audit.models import AuditRecord, AuditVerification
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


def _chunk(job, index):
    if index == job.parameters.get("fail_at"):
        raise ValueError("no more room")
    return 5


@pytest.fixture
def test_kind(monkeypatch):
    kind = JobKind("test-rows", "Test rows", lambda parameters: [Step("write", parameters["chunks"], _chunk)])
    monkeypatch.setitem(registry.JOB_KINDS, kind.name, kind)
    return kind


@pytest.fixture
def runs(test_kind, operations_user):
    done = job_run_execute(job_id=job_create(kind="test-rows", params={"chunks": 2}, started_by=operations_user).pk)
    failed = job_run_execute(job_id=job_create(kind="test-rows", params={"chunks": 4, "fail_at": 1}).pk)
    queued = job_create(kind="audit-verify", started_by="beat")
    return {"done": done, "failed": failed, "queued": queued}


def test_jobs_are_listed_newest_first_paginated_and_filtered_by_kind_and_status(ops_client, runs):
    body = ops_client.get("/api/v1/jobs/").json()
    assert body["count"] == 3 and body["next"] is None
    assert [row["id"] for row in body["results"]] == [runs["queued"].pk, runs["failed"].pk, runs["done"].pk]

    assert [row["id"] for row in ops_client.get("/api/v1/jobs/?kind=test-rows").json()["results"]] == [
        runs["failed"].pk, runs["done"].pk]
    assert [row["id"] for row in ops_client.get("/api/v1/jobs/?status=FAILED").json()["results"]] == [
        runs["failed"].pk]
    assert ops_client.get("/api/v1/jobs/?kind=test-rows&status=QUEUED").json()["count"] == 0
    assert ops_client.get("/api/v1/jobs/?page_size=1").json()["next"].endswith("page=2&page_size=1")


def test_an_unknown_status_is_a_400(ops_client, runs):
    response = ops_client.get("/api/v1/jobs/?status=DONE")
    assert response.status_code == 400 and "status" in response.json()


def test_a_job_answers_its_kind_status_progress_steps_timestamps_error_and_counts(ops_client, runs):
    failed = runs["failed"]
    body = ops_client.get(f"/api/v1/jobs/{failed.pk}/").json()
    assert {key: body[key] for key in ("kind", "status", "progress", "steps", "chunks_total", "chunks_done",
                                       "rows_affected", "error", "started_by", "rerun_of", "parameters")} == {
        "kind": "test-rows", "status": "FAILED", "progress": 0.25,
        "steps": [{"name": "write", "chunks": 4, "done": 1}], "chunks_total": 4, "chunks_done": 1,
        "rows_affected": 5, "error": "ValueError: no more room", "started_by": "system", "rerun_of": None,
        "parameters": {"chunks": 4, "fail_at": 1}}
    assert body["created_at"] and body["started_at"] and body["finished_at"]
    assert body["duration_seconds"] >= 0
    # The traceback is for administrators only.
    assert body["traceback"] is None

    done = ops_client.get(f"/api/v1/jobs/{runs['done'].pk}/").json()
    assert (done["status"], done["progress"], done["started_by"], done["error"]) == ("COMPLETED", 1.0, "ops", "")
    queued = ops_client.get(f"/api/v1/jobs/{runs['queued'].pk}/").json()
    assert (queued["status"], queued["progress"], queued["steps"], queued["started_at"]) == ("QUEUED", 0.0, [], None)


def test_superusers_see_the_traceback(admin_client_api, runs):
    body = admin_client_api.get(f"/api/v1/jobs/{runs['failed'].pk}/").json()
    assert "Traceback" in body["traceback"] and "ValueError: no more room" in body["traceback"]


def test_an_unknown_job_is_a_404(ops_client, runs):
    assert ops_client.get("/api/v1/jobs/999999/").status_code == 404


def test_operations_compliance_and_accounting_read_every_job_front_office_its_own_others_are_refused(
        anon_client, fo_client, ops_client, compliance_client, accounting_client, front_office_user, runs):
    job = runs["done"].pk
    assert anon_client.get("/api/v1/jobs/").status_code == 401
    assert anon_client.get(f"/api/v1/jobs/{job}/").status_code == 401
    # A front-office system polls the jobs it started (a trade file's booking), and sees no other.
    assert fo_client.get("/api/v1/jobs/").json()["count"] == 0
    assert fo_client.get(f"/api/v1/jobs/{job}/").status_code == 404
    own = job_create(kind="test-rows", params={"chunks": 1}, started_by=front_office_user)
    listed = fo_client.get("/api/v1/jobs/").json()
    assert [row["id"] for row in listed["results"]] == [own.pk]
    body = fo_client.get(f"/api/v1/jobs/{own.pk}/").json()
    assert (body["id"], body["status"], body["started_by"]) == (own.pk, "QUEUED", "fo")
    assert fo_client.get("/api/v1/jobs/?kind=test-rows").json()["count"] == 1
    assert fo_client.post("/api/v1/jobs/", {}).status_code == 405
    nobody = client_for(make_user("norole"))
    assert nobody.get("/api/v1/jobs/").status_code == 403
    assert nobody.get(f"/api/v1/jobs/{own.pk}/").status_code == 403
    for client in (ops_client, compliance_client, accounting_client):
        assert client.get("/api/v1/jobs/").status_code == 200
        assert client.get(f"/api/v1/jobs/{job}/").status_code == 200
    assert ops_client.post("/api/v1/jobs/", {}).status_code == 405


def test_post_verify_queues_a_full_verification_job_and_answers_202_with_it(
        ops_client, operations_user, instruments, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post("/api/v1/records/audit/verify/")

    assert response.status_code == 202
    body = response.json()
    assert (body["kind"], body["status"], body["started_by"], body["progress"]) == (
        "audit-verify", "QUEUED", "ops", 0.0)
    job = JobRun.objects.get(pk=body["id"])
    verification = AuditVerification.objects.get()
    # Every record but the one auditing the verification itself, written after it counted.
    # Nothing sealed: no block range to verify, one chunk for the unsealed records, one to keep the result.
    assert (job.status, job.chunks_done, job.rows_affected) == ("COMPLETED", 2, AuditRecord.objects.count() - 1)
    assert job.result[-1] == {"rows": 0, "verification_id": verification.pk, "ok": True,
                              "records_checked": verification.records_checked, "blocks_checked": 0,
                              "unsealed": verification.records_checked, "through_block": None, "first_broken": None}
    assert (verification.ok, verification.requested_by) == (True, "ops")
    assert ops_client.get(f"/api/v1/jobs/{job.pk}/").json()["status"] == "COMPLETED"


def test_post_verify_is_refused_to_front_office_and_queues_nothing(fo_client, anon_client):
    assert anon_client.post("/api/v1/records/audit/verify/").status_code == 401
    assert fo_client.post("/api/v1/records/audit/verify/").status_code == 403
    assert JobRun.objects.count() == 0
