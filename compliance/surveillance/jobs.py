"""The surveillance's kind of batch job (loaded by ComplianceConfig.ready): one step per scenario, one chunk each.

See compliance/surveillance/services.py.
"""

from functools import partial

from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from compliance.surveillance.kinds import SURVEILLANCE
from compliance.surveillance.services import STEP_NAMES, surveillance_parameters, surveillance_scenario_run


def _scenario(step: str, job, index: int) -> dict:
    return surveillance_scenario_run(job=job, step=step)


def _plan(parameters: dict) -> list[Step]:
    return [Step(name, 1, partial(_scenario, name)) for name in STEP_NAMES]


job_kind_register(JobKind(SURVEILLANCE, "Compliance: post-trade surveillance", _plan, surveillance_parameters))
