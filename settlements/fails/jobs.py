"""Job kinds of settlements' fails, registered with the job framework by SettlementsConfig.ready."""
