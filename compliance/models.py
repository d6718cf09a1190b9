"""Compliance (DESIGN.md §9): rules, the restricted list, locates and the penalty box, alerts.

compliance/models.py only imports the sub-packages' models, so that Django finds them.
"""

from compliance.alerts.models import Alert, AlertEvent
from compliance.restricted.models import RestrictedInstrument
from compliance.rules.models import ComplianceRule, RuleVersion
from compliance.shorts.models import Locate, PenaltyBoxEntry

__all__ = ["Alert", "AlertEvent", "ComplianceRule", "Locate", "PenaltyBoxEntry", "RestrictedInstrument",
           "RuleVersion"]
