"""Admin of compliance: only imports the sub-packages' admin modules, so that Django finds them."""

from compliance.alerts import admin as alerts_admin  # noqa: F401
from compliance.restricted import admin as restricted_admin  # noqa: F401
from compliance.rules import admin as rules_admin  # noqa: F401
from compliance.shorts import admin as shorts_admin  # noqa: F401
