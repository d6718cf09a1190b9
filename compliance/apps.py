from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self):
        # Registers compliance's maker-checker kinds (compliance/rules/kinds.py) and the surveillance's kind of
        # batch job (compliance/surveillance/jobs.py) with the kernel.
        import compliance.rules.kinds
        import compliance.surveillance.jobs  # noqa: F401
