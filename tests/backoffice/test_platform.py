"""Platform guarantees: settings, migrations, roles, the schema, the beat schedule."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_check_deploy():
    env = {**{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
           "DJANGO_SETTINGS_MODULE": "backoffice.settings.production",
           "SECRET_KEY": "x" * 20 + "-prod-only-key-with-enough-entropy-1234567890",
           "ALLOWED_HOSTS": "backoffice.example.com"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update({"DJANGO_SETTINGS_MODULE": "backoffice.settings.production", "ALLOWED_HOSTS": "x"})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_the_four_role_groups_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {"front_office", "operations", "compliance",
                                                                  "accounting"}


@pytest.mark.django_db
def test_openapi_schema_generates_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)


def test_every_scheduled_job_names_a_registered_task():
    from django.conf import settings

    from backoffice.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {"records.audit_seal", "records.audit_verify", "records.daily_exports", "records.purge",
                         "clearing.match", "clearing.netting_run", "settlements.settlement_run",
                         "settlements.fail_penalties", "accounting.posting_run", "accounting.eod_run",
                         "compliance.surveillance_run", "backoffice.eod_run"}
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)
