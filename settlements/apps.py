from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "settlements"
    verbose_name = "Settlements"

    def ready(self):
        # Loading the job modules registers settlements' kinds of batch job with the kernel's framework.
        import settlements.fails.jobs
        import settlements.instructions.jobs
        import settlements.instructions.kinds  # registers the maker-checker kind ssi.change
        import settlements.runs.jobs  # noqa: F401
