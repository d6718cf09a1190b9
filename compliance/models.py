"""Compliance: the restricted list (DESIGN.md §9, pre-trade).

compliance/models.py only imports the sub-packages' models, so that Django finds them.
"""

from compliance.restricted.models import RestrictedInstrument

__all__ = ["RestrictedInstrument"]
