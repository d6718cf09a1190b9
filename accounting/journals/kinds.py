"""Maker-checker kinds of accounting/journals, registered with records' approvals (loaded by AccountingConfig.ready)."""
