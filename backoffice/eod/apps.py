from django.apps import AppConfig


class EodConfig(AppConfig):
    name = "backoffice.eod"
    label = "eod"
    verbose_name = "End of day"

    def ready(self):
        from backoffice.eod import jobs  # noqa: F401  registers the kind of job "eod"
