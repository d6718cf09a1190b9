"""The audit trail pages: search, one record's before and after, the chain's status and verification."""

from datetime import timedelta
from decimal import Decimal

import lxml.html
import pytest
from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.context import correlation
from records.audit.models import AuditRecord, AuditVerification
from records.audit.services.audit import AuditEntry, audit_log, audit_log_bulk
from records.audit.services.audit_chain import audit_seal
from records.reference.services import reference
from tests.conftest import make_user
from tests.pages import figures, table_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def compliance_officer(client):
    client.force_login(make_user("co", "compliance"))
    return client


@pytest.fixture
def changes(accounts):
    """Two changes to ACC-001 by one clerk in one request, and a job's bulk changes."""
    clerk = make_user("clerk", "operations")
    with correlation("req:clerk-1"), transaction.atomic():
        reference.account_update(actor=clerk, account=accounts["ACC-001"], changes={"name": "Client 1"},
                                 reason="client renamed")
        reference.account_update(actor=clerk, account=accounts["ACC-001"],
                                 changes={"status": "SUSPENDED", "credit_limit": Decimal("2500")}, reason="KYC lapsed")
    with correlation("job:nightly:42"), transaction.atomic():
        audit_log_bulk(actor="job:nightly", action="UPDATE", reason="nightly",
                       entries=[AuditEntry("records.position", n, {"q": "1"}, {"q": "2"}) for n in range(3)])
    return accounts["ACC-001"]


def audit_ids(response) -> list[int]:
    return [int(row[0]) for row in table_rows(response, "audit")]


def test_the_audit_trail_is_for_records_keepers_only(client, operator, compliance_officer):
    client.logout()
    assert client.get("/records/audit/").status_code == 302  # to the login page
    client.force_login(make_user("trader", "front_office"))
    assert client.get("/records/audit/").status_code == 403
    assert client.get(f"/records/audit/{AuditRecord.objects.order_by('id').first().pk}/").status_code == 403
    assert client.post("/records/audit/verify/").status_code == 403
    assert not AuditVerification.objects.exists()
    client.force_login(operator)
    assert client.get("/records/audit/").status_code == 200


def test_search_by_record_actor_action_request_and_date(compliance_officer, changes):
    account_trail = list(AuditRecord.objects.filter(record_type="records.account", record_id=str(changes.pk))
                         .order_by("-id").values_list("id", flat=True))
    assert len(account_trail) == 3  # created by the fixture, then the two updates

    response = compliance_officer.get(f"/records/audit/?record_type=records.account&record_id={changes.pk}")
    assert audit_ids(response) == account_trail
    rows = table_rows(response, "audit")
    assert [row[2:6] for row in rows[:2]] == [
        ["clerk", "Update", f"records.account#{changes.pk}", "credit_limit, status"],
        ["clerk", "Update", f"records.account#{changes.pk}", "name"],
    ]
    assert rows[0][6] == "KYC lapsed"

    assert audit_ids(compliance_officer.get("/records/audit/?actor=clerk&action=UPDATE")) == account_trail[:2]
    nightly = list(AuditRecord.objects.filter(actor_label="job:nightly").order_by("-id").values_list("id", flat=True))
    assert len(nightly) == 3
    assert audit_ids(compliance_officer.get("/records/audit/?correlation_id=job:nightly:42")) == nightly
    assert audit_ids(compliance_officer.get("/records/audit/?correlation_id=req:clerk-1")) == account_trail[:2]
    today = timezone.localdate()
    assert audit_ids(compliance_officer.get(f"/records/audit/?date_from={today + timedelta(days=1)}")) == []
    assert len(audit_ids(compliance_officer.get(f"/records/audit/?date_from={today}&date_to={today}"))) == \
        AuditRecord.objects.count()


def test_a_backwards_date_range_is_an_error_and_lists_nothing(compliance_officer, changes):
    today = timezone.localdate()
    response = compliance_officer.get(f"/records/audit/?date_from={today}&date_to={today - timedelta(days=1)}")
    assert b"Must not be before the start date." in response.content
    assert audit_ids(response) == []


def test_pages_of_fifty_newest_first_with_older_and_newer_links(compliance_officer):
    with transaction.atomic():
        audit_log_bulk(actor="job:load", action="CREATE", entries=[
            AuditEntry("records.price", n, None, {"n": n}) for n in range(120)])
    newest = list(AuditRecord.objects.filter(actor_label="job:load").order_by("-id").values_list("id", flat=True))
    first = compliance_officer.get("/records/audit/?actor=job:load")
    assert audit_ids(first) == newest[:50]
    second = compliance_officer.get(f"/records/audit/?actor=job:load&before={newest[49]}")
    assert audit_ids(second) == newest[50:100]
    back = compliance_officer.get(f"/records/audit/?actor=job:load&after={newest[50]}")
    assert audit_ids(back) == newest[:50]


def test_the_detail_shows_every_field_before_and_after_with_the_changes_marked(compliance_officer, changes):
    update = AuditRecord.objects.filter(record_type="records.account", reason="KYC lapsed").get()
    response = compliance_officer.get(f"/records/audit/{update.pk}/")
    doc = lxml.html.fromstring(response.content.decode())
    changed = {tr.xpath("./td")[0].text_content().strip(): [" ".join(td.text_content().split())
                                                             for td in tr.xpath("./td")[1:]]
               for tr in doc.xpath('//table[@id="diff"]/tbody/tr[contains(@class, "diff-changed")]')}
    assert changed == {"status": ["ACTIVE", "SUSPENDED"], "credit_limit": ["1000", "2500"]}
    unchanged = [tr.xpath("./td")[0].text_content().strip()
                 for tr in doc.xpath('//table[@id="diff"]/tbody/tr[not(contains(@class, "diff-changed"))]')]
    assert "code" in unchanged and "name" in unchanged
    history = doc.xpath('//section[@id="history"]//tbody/tr')
    assert len(history) == 3  # created, renamed, suspended: this record's whole trail
    same_request = doc.xpath('//section[@id="same-cause"]//tbody/tr/td[1]')
    rename = AuditRecord.objects.filter(record_type="records.account", reason="client renamed").get()
    assert [td.text_content().strip() for td in same_request] == [str(rename.pk)]  # the other change of req:clerk-1
    assert update.content_hash.encode() in response.content


def test_a_creation_and_a_tombstone_render(compliance_officer, changes):
    created = AuditRecord.objects.filter(record_type="records.account", action="CREATE").order_by("id").first()
    response = compliance_officer.get(f"/records/audit/{created.pk}/")
    rows = table_rows(response, "diff")
    assert ["code", "—", "ACC-001"] in rows
    assert compliance_officer.get("/records/audit/999999999/").status_code == 404


def test_verifying_records_the_result_and_shows_the_first_broken_link(compliance_officer, changes,
                                                                     django_capture_on_commit_callbacks):
    def verify():
        with django_capture_on_commit_callbacks(execute=True):
            assert compliance_officer.post("/records/audit/verify/").status_code == 302
        return compliance_officer.get("/records/audit/")

    response = compliance_officer.get("/records/audit/")
    assert "never verified" in response.content.decode()
    assert figures(response)["unsealed"].startswith(str(AuditRecord.objects.count()))

    audit_seal()
    response = verify()
    verification = AuditVerification.objects.get()
    assert (verification.ok, verification.requested_by, verification.records_checked) == (
        True, "co", AuditRecord.objects.count() - 1)  # the verification's own audit record comes after it
    assert "Intact" in response.content.decode()
    assert figures(response)["unsealed"].startswith("1 ")  # the verification's own audit record

    victim = AuditRecord.objects.filter(reason="client renamed").get()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL backoffice.audit_maintenance = 'on'")
        cursor.execute("UPDATE records_auditrecord SET reason = %s WHERE id = %s", ["nothing to see", victim.pk])
    response = verify()
    latest = AuditVerification.objects.order_by("-id").first()
    assert not latest.ok and latest.first_broken["record_id"] == victim.pk
    doc = lxml.html.fromstring(response.content.decode())
    broken = " ".join(doc.xpath('//*[@id="first-broken"]')[0].text_content().split())
    assert f"record altered at audit record #{victim.pk}" in broken
    assert doc.xpath(f'//*[@id="first-broken"]//a[@href="/records/audit/{victim.pk}/"]')
    # The verifications are audited like every other write.
    assert AuditRecord.objects.filter(record_type="records.auditverification").count() == 2


def test_the_audit_trail_is_in_the_navigation_for_records_keepers(compliance_officer):
    from tests.pages import nav_links

    assert ("Audit trail", "/records/audit/", True) in nav_links(compliance_officer.get("/records/audit/"))


def test_a_change_by_a_user_now_deleted_still_lists(compliance_officer):
    gone = make_user("leaver", "operations")
    with transaction.atomic():
        audit_log(actor=gone, action="UPDATE", record_type="records.account", record_id="7", before={"a": 1},
                  after={"a": 2})
    gone.delete()
    rows = table_rows(compliance_officer.get("/records/audit/?actor=leaver"), "audit")
    assert [row[2] for row in rows] == ["leaver"]
