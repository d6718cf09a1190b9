"""Job kinds of clearing's matching, registered with the kernel's job framework (loaded by ClearingConfig.ready)."""
