"""Reads of the books-and-records exports: the signed daily manifests."""

from datetime import date

from django.db.models import QuerySet

from records.exports.models import ExportManifest


def export_manifest_list() -> QuerySet[ExportManifest]:
    return ExportManifest.objects.order_by("-business_date")


def export_manifest_get(business_date: date) -> ExportManifest | None:
    return ExportManifest.objects.filter(business_date=business_date).first()
