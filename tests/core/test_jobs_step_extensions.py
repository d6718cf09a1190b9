"""settings.JOB_STEP_EXTENSIONS: the project appends an upper app's steps to a lower app's kind of job."""

import pytest
from django.test import override_settings

from backoffice.core.jobs import registry
from backoffice.core.jobs.models import JobChunk
from backoffice.core.jobs.registry import JobKind, Step
from backoffice.core.jobs.services import job_create, job_run_execute

pytestmark = pytest.mark.django_db
DONE: list[tuple[str, int]] = []


def _own_step(job, index: int) -> dict:
    DONE.append(("own", index))
    return {"rows": 1, "step": "own"}


def appended_steps(parameters: dict) -> list[Step]:
    """An extension: one more step of as many chunks as the run's parameters say."""
    return [Step("appended", parameters["extra"], lambda job, index: DONE.append(("appended", index)) or 2)]


@pytest.fixture
def kind():
    DONE.clear()
    kind = registry.job_kind_register(JobKind("test-extended", "Extended", lambda p: [Step("own", 2, _own_step)]))
    yield kind
    registry.JOB_KINDS.pop(kind.name, None)


@override_settings(JOB_STEP_EXTENSIONS={"test-extended": ["tests.core.test_jobs_step_extensions.appended_steps"]})
def test_an_extension_runs_its_steps_after_the_kinds_own_as_chunks_of_the_same_run(kind):
    job = job_run_execute(job_id=job_create(kind="test-extended", params={"extra": 3}).pk)

    assert job.status == "COMPLETED"
    assert DONE == [("own", 0), ("own", 1), ("appended", 0), ("appended", 1), ("appended", 2)]
    assert [step["name"] for step in job.steps] == ["own", "appended"]
    assert (job.chunks_total, job.chunks_done, job.rows_affected) == (5, 5, 8)
    assert JobChunk.objects.filter(job=job, step="appended").count() == 3


def test_without_an_extension_a_kind_runs_its_own_steps_only(kind):
    job = job_run_execute(job_id=job_create(kind="test-extended", params={"extra": 3}).pk)

    assert [step["name"] for step in job.steps] == ["own"] and DONE == [("own", 0), ("own", 1)]
