"""The name of the surveillance's kind of batch job (compliance/surveillance/jobs.py registers it)."""

SURVEILLANCE = "compliance-surveillance"
