"""Admin of compliance: only imports the sub-packages' admin modules, so that Django finds them."""

from compliance.restricted import admin as restricted_admin  # noqa: F401
