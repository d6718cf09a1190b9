"""Maker-checker kinds of accounting/periods, registered with records' approvals (loaded by AccountingConfig.ready)."""
