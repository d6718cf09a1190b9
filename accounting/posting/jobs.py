"""Job kinds of accounting's posting (loaded by AccountingConfig.ready)."""
