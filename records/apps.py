from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Books and records"

    def ready(self):
        from . import signals

        signals.connect()
