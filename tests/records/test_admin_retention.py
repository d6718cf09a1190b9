"""Admin of records keeping: retention periods edited through the service (audited), holds and manifests read-only."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from records.audit.models import AuditRecord
from records.exports.models import ExportManifest
from records.exports.services import export_manifest_create
from records.retention.models import LegalHold, RetentionPolicy
from records.retention.services import legal_hold_place
from tests.records.helpers_admin import url

pytestmark = pytest.mark.django_db


def test_a_retention_period_is_changed_through_the_service_and_audited(web, superuser):
    policy = RetentionPolicy.objects.get(record_type="records.trade")
    response = web.post(url(RetentionPolicy, "change", policy.pk),
                        {"retention_years": "8", "rule": policy.rule, "reason": "litigation risk"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert RetentionPolicy.objects.get(pk=policy.pk).retention_years == 8
    audit = AuditRecord.objects.get(record_type="records.retentionpolicy", record_id=str(policy.pk))
    assert (audit.actor_label, audit.before["retention_years"], audit.after["retention_years"], audit.reason) == (
        superuser.username, 6, 8, "litigation risk")


def test_shortening_below_the_sec_minimum_is_a_form_error_and_changes_nothing(web):
    policy = RetentionPolicy.objects.get(record_type="records.price")
    response = web.post(url(RetentionPolicy, "change", policy.pk), {"retention_years": "2", "rule": policy.rule})
    assert response.status_code == 200
    assert "must be kept at least 3 years" in response.content.decode()
    assert RetentionPolicy.objects.get(pk=policy.pk).retention_years == 3
    assert not AuditRecord.objects.filter(record_type="records.retentionpolicy").exists()


def test_policies_are_not_added_or_deleted_and_holds_and_manifests_are_read_only(web, superuser, accounts):
    with transaction.atomic():
        hold = legal_hold_place(actor=superuser, scope="ACCOUNT", account=accounts["HOUSE"], reason="inquiry")
    manifest = export_manifest_create(business_date=timezone.localdate() - timedelta(days=1))
    assert web.get(url(RetentionPolicy, "add")).status_code == 403
    for model, pk in ((RetentionPolicy, RetentionPolicy.objects.first().pk), (LegalHold, hold.pk),
                      (ExportManifest, manifest.pk)):
        assert web.get(url(model, "changelist")).status_code == 200
        assert web.get(url(model, "change", pk)).status_code == 200
        assert web.post(url(model, "delete", pk), {"post": "yes"}).status_code == 403
    assert web.get(url(LegalHold, "add")).status_code == 403
    assert web.post(url(LegalHold, "change", hold.pk), {"reason": "edited"}).status_code == 403
    assert LegalHold.objects.get().reason == "inquiry"
