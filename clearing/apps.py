from django.apps import AppConfig


class ClearingConfig(AppConfig):
    name = "clearing"
    verbose_name = "Clearing"

    def ready(self):
        # Loading the job modules registers clearing's kinds of batch job with the kernel's framework, and
        # clearing.matching.kinds its kind of maker-checker change (force-matching a confirmation) with records'.
        import clearing.matching.jobs
        import clearing.matching.kinds
        import clearing.netting.jobs  # noqa: F401
