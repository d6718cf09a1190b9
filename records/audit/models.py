"""The audit trail: append-only audit records and the sealed blocks of their hash chain."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import models

# Who makes a change: a user, a job or command label ("job:<name>"), or None for the system.
Actor = AbstractBaseUser | str | None


class AppendOnlyQuerySet(models.QuerySet):
    """Refuse bulk updates and deletes; only retention's purge may delete (records.retention.services)."""

    def update(self, **kwargs):
        raise PermissionError(f"{self.model._meta.label} is append-only")

    def delete(self):
        if not _maintenance.active:
            raise PermissionError(f"{self.model._meta.label} is append-only")
        return super().delete()


class _Maintenance:
    """Set by the retention purge while it deletes expired audit data (never by anything else)."""

    active = False


_maintenance = _Maintenance()


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(f"{self._meta.label} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(f"{self._meta.label} is append-only")


class AuditRecord(AppendOnlyModel):
    """One change to a business record: who, when, what, before and after, why. Append-only."""

    class Action(models.TextChoices):
        CREATE = "CREATE", "Create"
        UPDATE = "UPDATE", "Update"
        DELETE = "DELETE", "Delete"
        TRANSITION = "TRANSITION", "Status change"

    at = models.DateTimeField(db_index=True)
    # The trail outlives its actors and is never updated, so no database constraint: deleting a
    # user must neither rewrite audit rows (SET NULL) nor be checked against every one of them.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False, db_index=False,
    )
    # Who acted, as text: the username, or "job:<name>" for batch jobs; kept if the user goes.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=20)
    record_type = models.CharField(max_length=100)
    record_id = models.CharField(max_length=100)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    # The request (req:<id>) or job (job:<name>:<id>) that caused the change.
    correlation_id = models.CharField(max_length=100, blank=True)
    # SHA-256 of the canonical serialization of the fields above (see records/audit/services/audit_chain.py).
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        # Searches are equalities, newest first (records.audit.selectors.audit_search): each index ends in id,
        # and none is a LIKE pattern index (db_index=True would add one per text column on
        # PostgreSQL, each a cost on every one of the trail's inserts).
        indexes = [
            models.Index(fields=["record_type", "record_id"], name="audit_record_idx"),
            models.Index(fields=["actor_label", "id"], name="audit_actor_idx"),
            models.Index(fields=["correlation_id", "id"], name="audit_correlation_idx"),
            # The trail filtered by record type alone, newest first: a page is a walk down this index, not a
            # backward scan of every record for the few of a rare type.
            models.Index(fields=["record_type", "id"], name="audit_type_idx"),
            # Purge tombstones (records.retention.rules.PURGE_ACTION), newest first: a handful among millions.
            models.Index(fields=["id"], condition=models.Q(action="PURGE"), name="audit_purge_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.record_type}#{self.record_id}"


class AuditBlock(models.Model):
    """A sealed block of audit records: the unit of the tamper-evident hash chain.

    Writers never wait for one another: an audit record gets its own content hash as it is
    written, and a sealing job (every few seconds, and at the end of batch jobs) collects the
    records not yet sealed into a block whose hash covers their content hashes and the previous
    block's hash. See records/audit/services/audit_chain.py for why.
    """

    sealed_at = models.DateTimeField()
    sealed_by = models.CharField(max_length=150)
    first_record_id = models.BigIntegerField()
    last_record_id = models.BigIntegerField()
    record_count = models.PositiveIntegerField()
    # SHA-256 over the member records' content hashes, in record id order.
    records_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    # SHA-256 over this block's header (including prev_hash): the chain link.
    hash = models.CharField(max_length=64, unique=True)
    # Set when retention purged the member records; the header stays, so the chain still verifies.
    pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"block {self.pk} ({self.record_count} records) {self.hash[:12]}"


class AuditVerification(AppendOnlyModel):
    """One verification of the audit chain and its result: the record that it was checked.

    FULL recomputes every block; INCREMENTAL continues from the last kept verification's block.
    """

    class Scope(models.TextChoices):
        FULL = "FULL", "Full"
        INCREMENTAL = "INCREMENTAL", "Incremental"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    requested_by = models.CharField(max_length=150, help_text="Username, or job:<name> for a scheduled run.")
    ok = models.BooleanField()
    records_checked = models.PositiveBigIntegerField()
    blocks_checked = models.PositiveIntegerField()
    unsealed = models.PositiveBigIntegerField()
    first_broken = models.JSONField(null=True, blank=True)
    problems = models.JSONField(default=list, blank=True, help_text="The first 20 problems found.")
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.FULL)
    # The last block checked and the hash it had then: where the next incremental verification starts.
    through_block_id = models.BigIntegerField(null=True, blank=True)
    through_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"verification {self.pk} at {self.finished_at:%Y-%m-%d %H:%M}: {'intact' if self.ok else 'BROKEN'}"


class AuditSeal(AppendOnlyModel):
    """Membership of an audit record in a sealed block (append-only, like the records)."""

    record = models.OneToOneField(AuditRecord, on_delete=models.DO_NOTHING, primary_key=True, db_constraint=False,
                                  related_name="seal")
    block = models.ForeignKey(AuditBlock, on_delete=models.PROTECT, related_name="seals", db_index=True)

    def __str__(self):
        return f"record {self.record_id} in block {self.block_id}"
