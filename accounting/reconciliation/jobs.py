"""Job kinds of accounting's reconciliation (loaded by AccountingConfig.ready)."""
