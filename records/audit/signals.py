"""Audit records for users, roles and API tokens, and for reruns of failed batch jobs.

Users, roles and tokens belong to Django and DRF, and are changed through their admin, their
management commands (createsuperuser, changepassword, drf_create_token) and the shell, none of
which call our services. Signals are the one hook every one of those paths passes through, so this
is the deliberate exception to the house rule of no signals. The audit record joins the transaction
of the change when there is one (the admin's); otherwise it commits right after it.

A rerun or a resumption of a failed job is a service of the kernel (job_rerun, job_resume), which
may not import the audit trail; it sends job_rerun_requested (job_resumed) inside its transaction, and the
receiver here writes the audit record in that transaction.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from rest_framework.authtoken.models import Token

from backoffice.core.context import correlation_id, current_user
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.signals import job_rerun_requested, job_resumed
from records.audit.services.audit import audit_log, snapshot

User = get_user_model()
USER_FIELDS = ("username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser")
_NOISE = {"last_login"}


def _user_snapshot(user) -> dict:
    data = {name: getattr(user, name) for name in USER_FIELDS}
    data["password_set"] = user.has_usable_password()
    return data


def _actor():
    # The user of the request being served (the admin's), else the job, else "system" (shell, commands).
    user = current_user()
    if user is not None:
        return user
    corr = correlation_id()
    return corr if corr.startswith("job:") else "system"


def _log(**kwargs):
    with transaction.atomic():
        audit_log(actor=_actor(), **kwargs)


def _user_pre_save(sender, instance, **kwargs):
    if instance.pk:
        old = sender.objects.filter(pk=instance.pk).first()
        instance._audit_before = _user_snapshot(old) if old else None
        instance._audit_password = old.password if old else None


def _user_post_save(sender, instance, created, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= _NOISE:
        return  # a login stamping last_login is not a change to the user
    before = None if created else getattr(instance, "_audit_before", None)
    after = _user_snapshot(instance)
    password_changed = not created and getattr(instance, "_audit_password", None) != instance.password
    if not created and before == after and not password_changed:
        return
    _log(action="CREATE" if created else "UPDATE", record_type="auth.user", record_id=instance.pk, before=before,
         after=after, reason="password changed" if password_changed else "")


def _user_post_delete(sender, instance, **kwargs):
    _log(action="DELETE", record_type="auth.user", record_id=instance.pk, before=_user_snapshot(instance))


def _roles_changed(sender, instance, action, pk_set, reverse, **kwargs):
    if action not in ("pre_add", "pre_remove", "pre_clear", "post_add", "post_remove", "post_clear"):
        return
    users = [instance] if not reverse else list(User.objects.filter(pk__in=pk_set or []))
    if reverse and action.endswith("clear"):
        users = list(instance.user_set.all())
    for user in users:
        names = sorted(user.groups.values_list("name", flat=True))
        if action.startswith("pre_"):
            user._audit_roles = names
            continue
        before = getattr(user, "_audit_roles", None)
        if before != names:
            _log(action="ROLES", record_type="auth.user", record_id=user.pk, before={"roles": before},
                 after={"roles": names})


def _group_saved(sender, instance, created, **kwargs):
    _log(action="CREATE" if created else "UPDATE", record_type="auth.group", record_id=instance.pk,
         after={"name": instance.name})


def _group_deleted(sender, instance, **kwargs):
    _log(action="DELETE", record_type="auth.group", record_id=instance.pk, before={"name": instance.name})


def _token_saved(sender, instance, created, **kwargs):
    if created:
        _log(action="CREATE", record_type="authtoken.token", record_id=instance.user_id,
             after={"user": instance.user_id, "key_prefix": instance.key[:4]}, reason="API token issued")


def _token_deleted(sender, instance, **kwargs):
    _log(action="DELETE", record_type="authtoken.token", record_id=instance.user_id,
         before={"user": instance.user_id, "key_prefix": instance.key[:4]}, reason="API token revoked")


def _job_rerun_requested(sender, original, job, started_by, **kwargs):
    # In job_rerun's transaction (it is atomic): the record commits or rolls back with the new run.
    audit_log(actor=started_by, action="CREATE", instance=job, after=snapshot(job),
              reason=f"rerun of failed job {original.pk} ({original.kind})")


def _job_resumed(sender, original, job, started_by, **kwargs):
    # In job_resume's transaction: the record commits or rolls back with the resumption.
    audit_log(actor=started_by, action="UPDATE", instance=job, before=snapshot(original), after=snapshot(job),
              reason=f"failed job {job.pk} ({job.kind}) resumed: its {job.chunks_done} committed chunks are kept")


def connect() -> None:
    pre_save.connect(_user_pre_save, sender=User, dispatch_uid="audit_user_pre_save")
    post_save.connect(_user_post_save, sender=User, dispatch_uid="audit_user_post_save")
    post_delete.connect(_user_post_delete, sender=User, dispatch_uid="audit_user_post_delete")
    m2m_changed.connect(_roles_changed, sender=User.groups.through, dispatch_uid="audit_user_roles")
    post_save.connect(_group_saved, sender=Group, dispatch_uid="audit_group_saved")
    post_delete.connect(_group_deleted, sender=Group, dispatch_uid="audit_group_deleted")
    post_save.connect(_token_saved, sender=Token, dispatch_uid="audit_token_saved")
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="audit_token_deleted")
    job_rerun_requested.connect(_job_rerun_requested, sender=JobRun, dispatch_uid="audit_job_rerun")
    job_resumed.connect(_job_resumed, sender=JobRun, dispatch_uid="audit_job_resumed")
