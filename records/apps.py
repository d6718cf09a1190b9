from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Books and records"

    def ready(self):
        # Loading the approvals services registers the records' kinds of change, which the reads of
        # maker-checker (records.approvals.kinds, .selectors) find without importing the services.
        import records.approvals.services  # noqa: F401
        from records.audit import signals

        signals.connect()
