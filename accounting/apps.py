from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "accounting"
    verbose_name = "Accounting"

    def ready(self):
        # Registers accounting's maker-checker kinds and its kinds of batch job with the kernel.
        import accounting.chart.kinds
        import accounting.journals.kinds
        import accounting.periods.kinds
        import accounting.posting.jobs
        import accounting.reconciliation.jobs  # noqa: F401
