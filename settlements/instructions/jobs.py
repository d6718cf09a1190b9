"""Job steps of settlements' instructions (loaded by SettlementsConfig.ready).

instruction_steps is named in settings.JOB_STEP_EXTENSIONS["clearing-netting"]: the kernel appends
its step to every netting run (backoffice.core.jobs.registry.job_plan), so a clearing run ends
with the settlement instructions of its obligations created, without clearing importing
settlements. Step "instruct": one chunk, instructions_create_for_clearing_run (set-based,
idempotent: see settlements/instructions/services/instructions.py).
"""

from backoffice.core.jobs.registry import Step
from settlements.instructions.services.instructions import instructions_create_for_clearing_run


def _instruct(job, index: int) -> dict:
    return instructions_create_for_clearing_run(job=job)


def instruction_steps(parameters: dict) -> list[Step]:
    """The steps settlements appends to a clearing-netting run: instruct its obligations (one atomic chunk)."""
    return [Step("instruct", 1, _instruct)]
