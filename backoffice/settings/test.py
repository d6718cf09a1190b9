"""Test settings: base settings with eager Celery and a fast password hasher.

DATABASE_URL and CELERY_BROKER_URL still come from the environment, so CI runs the
suite on PostgreSQL and Redis.
"""

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_RESULT_BACKEND = "django-db"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "1000000/min"}}

# The reports' replica alias on the test database itself (a mirror), so that tests can send reports to it;
# off unless a test turns REPORTS_REPLICA on (tests/backoffice/test_replica.py).
DATABASES["reports"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
REPORTS_REPLICA = False

