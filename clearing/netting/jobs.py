"""Job kinds of clearing's netting, registered with the kernel's job framework (loaded by ClearingConfig.ready)."""
