"""The kind of job "eod" (registered by EodConfig.ready): one non-atomic single-chunk step per stage, in order.

See backoffice/eod/services.py and docs/eod.md.
"""

from functools import partial

from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from backoffice.eod.services import eod_parameters, eod_stage_run
from backoffice.eod.stages import EOD, STAGES


def _stage(stage, job, index: int) -> dict:
    return eod_stage_run(job=job, stage=stage)


def _plan(parameters: dict) -> list[Step]:
    # Non-atomic: a stage runs its child run's chunks, each in its own transaction.
    return [Step(stage.name, 1, partial(_stage, stage), atomic=False) for stage in STAGES]


job_kind_register(JobKind(EOD, "End of day (matching to surveillance)", _plan, eod_parameters))
