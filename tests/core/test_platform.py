"""Platform guarantees: settings, migrations, roles, the audit service, the schema."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction

from records.audit.models import AuditRecord
from records.audit.services.audit import AuditEntry, audit_log, audit_log_bulk

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


@pytest.mark.django_db(transaction=True)
def test_audit_log_refuses_to_write_outside_a_transaction():
    # The seed fixture of transactional tests writes audit records of its own (the role groups): count ours.
    with pytest.raises(RuntimeError):
        audit_log(actor="test", action="CREATE", record_type="x.y", record_id=1, after={})
    assert not AuditRecord.objects.filter(record_type="x.y").exists()


@pytest.mark.django_db
def test_audit_record_rolls_back_with_its_change():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_log(actor="job:test", action="CREATE", record_type="x.y", record_id=1, after={"a": 1})
        1 / 0  # noqa: B018
    assert AuditRecord.objects.count() == 0


@pytest.mark.django_db
def test_bulk_audit_writes_one_row_per_change_with_the_job_as_actor(django_assert_max_num_queries):
    entries = [AuditEntry("records.position", str(n), {"q": n}, {"q": n + 1}) for n in range(5000)]
    with transaction.atomic(), django_assert_max_num_queries(5):
        assert audit_log_bulk(actor="job:settlement", action="UPDATE", entries=entries, reason="run 1") == 5000
    assert AuditRecord.objects.filter(actor_label="job:settlement", reason="run 1").count() == 5000


def test_every_scheduled_job_names_a_registered_task():
    from django.conf import settings

    from backoffice.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {"records.audit_seal", "records.audit_verify", "records.daily_exports", "records.purge"}
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)
