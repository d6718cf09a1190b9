"""The stages of the end-of-day pipeline, in order: each one child run of an app's kind of job (docs/eod.md)."""

from dataclasses import dataclass

from accounting.posting.services import MARK_TO_MARKET, POSTING
from accounting.reconciliation.selectors import RECONCILIATION
from clearing.matching.jobs import MATCHING
from clearing.netting.services import NETTING
from compliance.surveillance.kinds import SURVEILLANCE
from settlements.runs.selectors import SETTLEMENT_RUN

EOD = "eod"


@dataclass(frozen=True)
class Stage:
    """One stage: the name of its step in the EOD run, its title, and the kind of its child run."""

    name: str
    title: str
    kind: str


STAGES = [
    Stage("matching", "Matching", MATCHING),
    Stage("netting", "Netting and instructions", NETTING),
    Stage("settlement", "Settlement", SETTLEMENT_RUN),
    Stage("posting", "Posting", POSTING),
    Stage("mark-to-market", "Mark to market and FX revaluation", MARK_TO_MARKET),
    Stage("reconciliation", "Reconciliation", RECONCILIATION),
    Stage("surveillance", "Surveillance", SURVEILLANCE),
]
