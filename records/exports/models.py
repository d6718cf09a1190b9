"""Books-and-records exports: the signed daily manifest of the export files."""

from django.db import models


class ExportManifest(models.Model):
    """The signed list of a day's books-and-records export files and their SHA-256 hashes."""

    business_date = models.DateField(unique=True)
    date_from = models.DateField()
    date_to = models.DateField()
    files = models.JSONField(help_text='[{"name", "rows", "sha256", "bytes"}]')
    signature = models.CharField(max_length=64, help_text="HMAC-SHA256 of the manifest with the export key.")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-business_date"]

    def __str__(self):
        return f"manifest {self.business_date}"
