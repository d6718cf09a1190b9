"""The Celery application: one module, settings under the CELERY_ namespace."""

import os

from celery import Celery

# Whether importing this package chose the settings (backoffice.launcher keeps the choice from its children).
settings_defaulted = "DJANGO_SETTINGS_MODULE" not in os.environ
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
