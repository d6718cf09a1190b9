from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "backoffice.core"
    label = "core"
    verbose_name = "Platform core"
