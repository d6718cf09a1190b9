"""Trade files: a CSV or NDJSON file of trades uploaded for booking, and its staged rows.

The rows are staged with COPY as the file gives them (text, a line number), then booked by the
trade-file job chunk by chunk; each row keeps its outcome (the per-row report).
"""

from django.conf import settings
from django.db import models

from backoffice.core.jobs.models import JobRun

# The kind of job that books a file (records.trades.files.jobs); here so that reads of the files (the
# retention purge's test of a file still being booked) need not import the services.
TRADE_FILE = "trade-file"


class TradeFile(models.Model):
    """One uploaded trade file: who, when, what (name, size, sha256, format), its rows and their outcome."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        NDJSON = "ndjson", "NDJSON"

    name = models.CharField(max_length=255)
    format = models.CharField(max_length=8, choices=Format.choices)
    size = models.BigIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64)
    # The columns of a CSV file's header, in the file's order (empty for NDJSON).
    columns = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    job = models.ForeignKey(JobRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Counted by the booking chunks, in their transactions.
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["uploaded_by", "-id"], name="records_tradefile_by_user")]

    def __str__(self):
        return f"{self.name} ({self.row_count} rows)"

    @property
    def status(self) -> str:
        """QUEUED, RUNNING, COMPLETED or FAILED: the booking job's, COMPLETED once every row has its outcome."""
        if self.completed_at is not None:
            return JobRun.Status.COMPLETED
        return self.job.status if self.job is not None else JobRun.Status.QUEUED


class TradeFileRow(models.Model):
    """A data row of a trade file as staged (every field as text; null: the cell is empty or the key absent),
    then its outcome once booked. `seq` numbers the data rows from 0 in the file's order; `line` is the
    line of the file where the row ends (the header is line 1)."""

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"

    id = models.BigAutoField(primary_key=True)
    file = models.ForeignKey(TradeFile, on_delete=models.CASCADE, related_name="rows", db_index=False)
    seq = models.PositiveIntegerField()
    line = models.PositiveIntegerField()
    # CSV: the fields; NDJSON: the line's JSON text in `payload`, parsed when booked.
    external_ref = models.TextField(null=True)
    account = models.TextField(null=True)
    counterparty = models.TextField(null=True)
    instrument = models.TextField(null=True)
    side = models.TextField(null=True)
    quantity = models.TextField(null=True)
    price = models.TextField(null=True)
    trade_date = models.TextField(null=True)
    currency = models.TextField(null=True)
    settlement_date = models.TextField(null=True)
    commission = models.TextField(null=True)
    payload = models.TextField(null=True)
    # A problem of the row's shape found when staging (a CSV line with too few or too many fields).
    problem = models.TextField(null=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, null=True)
    trade_id = models.BigIntegerField(null=True)
    errors = models.JSONField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "seq"], name="records_tradefilerow_seq")]
        # The report page's rejected rows, without walking the good ones.
        indexes = [models.Index(fields=["file", "seq"], condition=models.Q(outcome="rejected"),
                                name="records_tradefilerow_rejected")]

    def __str__(self):
        return f"{self.file_id} line {self.line}"
