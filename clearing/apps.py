from django.apps import AppConfig


class ClearingConfig(AppConfig):
    name = "clearing"
    verbose_name = "Clearing"

    def ready(self):
        # Loading the job modules registers clearing's kinds of batch job with the kernel's framework.
        import clearing.matching.jobs
        import clearing.netting.jobs  # noqa: F401
