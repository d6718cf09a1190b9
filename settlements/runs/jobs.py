"""Job kinds of settlements' runs, registered with the job framework by SettlementsConfig.ready."""
