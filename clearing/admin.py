"""Admin of clearing: each sub-domain registers its models."""

import clearing.matching.admin
import clearing.netting.admin  # noqa: F401
