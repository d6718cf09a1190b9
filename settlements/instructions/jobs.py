"""Job steps of settlements' instructions (loaded by SettlementsConfig.ready).

instruction_steps is named in settings.JOB_STEP_EXTENSIONS["clearing-netting"]: the kernel appends
its step to every netting run (backoffice.core.jobs.registry.job_plan), so a clearing run ends
with the settlement instructions of its obligations created, without clearing importing
settlements. Step "instruct": one chunk per instrument range of the netting's step "net"
(instructions_create_for_clearing_run, set-based, idempotent: see
settlements/instructions/services/instructions.py), so its chunks are bounded as netting's are and
every worker takes some.
"""

from backoffice.core.jobs.registry import Step
from clearing.netting.services import instrument_ranges
from settlements.instructions.services.instructions import instructions_create_for_clearing_run


def _instruct(job, index: int) -> dict:
    return instructions_create_for_clearing_run(job=job, index=index)


def instruction_steps(parameters: dict) -> list[Step]:
    """The steps settlements appends to a clearing-netting run: instruct its obligations, a chunk per
    instrument range of the netting."""
    return [Step("instruct", len(instrument_ranges(parameters)), _instruct)]
