from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Books and records"

    def ready(self):
        # Loading the approvals services registers the records' kinds of change, which the reads of
        # maker-checker (records.approvals.kinds, .selectors) find without importing the services.
        # Loading the job modules registers the records' kinds of batch job with the kernel's framework.
        import records.approvals.services
        import records.audit.jobs
        import records.exports.jobs
        import records.retention.jobs
        import records.trades.files.jobs  # noqa: F401
        from records.audit import signals

        signals.connect()
