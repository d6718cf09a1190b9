"""Admin of settlements: each sub-domain registers its models."""

import settlements.fails.admin
import settlements.instructions.admin
import settlements.runs.admin  # noqa: F401
