"""Maker-checker kinds of accounting/chart, registered with records' approvals (loaded by AccountingConfig.ready)."""
