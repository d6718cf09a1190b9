"""Job kinds of settlements' instructions, registered with the job framework by SettlementsConfig.ready."""
