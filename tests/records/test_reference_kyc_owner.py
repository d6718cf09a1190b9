"""Accounts' KYC review date and beneficial owner (compliance): in the reference API (read, create, PATCH
through maker-checker), the admin and the accounts page (a KYC column, "expired" in red when past)."""

import json
from datetime import timedelta

import lxml.html
import pytest
from django.db import transaction
from django.utils import timezone

from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.reference.models import Account
from records.reference.services import reference
from tests.conftest import make_user
from tests.pages import column
from tests.records.helpers_admin import url

pytestmark = pytest.mark.django_db
ACCOUNTS = "/api/v1/accounts/"


def post(client, body):
    return client.post(ACCOUNTS, data=json.dumps(body), content_type="application/json")


def patch(client, code, body):
    return client.patch(f"{ACCOUNTS}{code}/", data=json.dumps(body), content_type="application/json")


def new_account(**changes):
    return {"code": "ACC-KYC", "name": "KYC Client", "kind": "CLIENT", "base_currency": "USD", **changes}


def test_an_account_is_created_with_its_kyc_date_and_owner_and_reads_them_back(ops_client, fo_client):
    response = post(ops_client, new_account(kyc_review_due="2027-03-31", beneficial_owner="Smith Family Trust"))
    assert response.status_code == 201, response.content
    body = fo_client.get(f"{ACCOUNTS}ACC-KYC/").json()
    assert (body["kyc_review_due"], body["beneficial_owner"]) == ("2027-03-31", "Smith Family Trust")
    account = Account.objects.get(code="ACC-KYC")
    assert (account.kyc_review_due.isoformat(), account.beneficial_owner) == ("2027-03-31", "Smith Family Trust")


def test_they_default_to_none_and_own(ops_client, accounts):
    response = post(ops_client, new_account())
    assert (response.json()["kyc_review_due"], response.json()["beneficial_owner"]) == (None, "")
    listed = {row["code"]: row for row in ops_client.get(ACCOUNTS).json()["results"]}
    assert (listed["ACC-001"]["kyc_review_due"], listed["ACC-001"]["beneficial_owner"]) == (None, "")


@pytest.mark.parametrize(("changes", "field"), [
    ({"kyc_review_due": "31/03/2027"}, "kyc_review_due"), ({"kyc_review_due": "2027-02-30"}, "kyc_review_due"),
    ({"kyc_review_due": 20270331}, "kyc_review_due"), ({"kyc_review_due": "2027-3-1"}, "kyc_review_due"),
    ({"beneficial_owner": "x" * 101}, "beneficial_owner"), ({"beneficial_owner": "a\x00b"}, "beneficial_owner"),
    ({"beneficial_owner": 5}, "beneficial_owner"), ({"beneficial_owner": ["x"]}, "beneficial_owner"),
])
def test_bad_values_are_a_400_naming_the_field(ops_client, changes, field):
    response = post(ops_client, new_account(**changes))
    assert response.status_code == 400
    assert field in response.json()
    assert not Account.objects.filter(code="ACC-KYC").exists()


@pytest.mark.parametrize(("changes", "field"), [
    ({"kyc_review_due": "tomorrow"}, "kyc_review_due"), ({"beneficial_owner": "a\x00b"}, "beneficial_owner"),
    ({"beneficial_owner": "y" * 101}, "beneficial_owner"),
])
def test_a_bad_patch_is_a_400_and_proposes_nothing(ops_client, accounts, changes, field):
    response = patch(ops_client, "ACC-001", changes)
    assert response.status_code == 400 and field in response.json()
    assert not ChangeRequest.objects.exists()


def test_a_patch_is_proposed_and_takes_effect_when_approved_and_null_clears_the_date(ops_client, accounts):
    response = patch(ops_client, "ACC-001", {"kyc_review_due": "2026-06-30", "beneficial_owner": "J. Smith"})
    assert response.status_code == 202, response.content
    assert response.json()["payload"] == {"code": "ACC-001", "changes": {"kyc_review_due": "2026-06-30",
                                                                         "beneficial_owner": "J. Smith"}}
    assert response.json()["before"]["kyc_review_due"] is None
    assert Account.objects.get(code="ACC-001").kyc_review_due is None  # nothing until approved
    checker = make_user("checker", "operations")
    with transaction.atomic():
        approvals.change_approve(actor=checker, change_id=response.json()["id"])
    account = Account.objects.get(code="ACC-001")
    assert (account.kyc_review_due.isoformat(), account.beneficial_owner) == ("2026-06-30", "J. Smith")

    cleared = patch(ops_client, "ACC-001", {"kyc_review_due": None, "beneficial_owner": ""})
    assert cleared.status_code == 202, cleared.content
    with transaction.atomic():
        approvals.change_approve(actor=checker, change_id=cleared.json()["id"])
    account.refresh_from_db()
    assert (account.kyc_review_due, account.beneficial_owner) == (None, "")
    assert patch(ops_client, "ACC-001", {"kyc_review_due": None}).status_code == 400  # changes nothing


def test_the_admin_adds_an_account_with_them(web):
    form = {"code": "CL-NEW", "name": "New Client", "kind": "CLIENT", "base_currency": "USD", "status": "ACTIVE",
            "cost_method": "FIFO", "allow_partial_settlement": "on", "credit_limit": "0", "reason": "",
            "kyc_review_due": "2027-01-15", "beneficial_owner": "Owner Ltd"}
    response = web.post(url(Account, "add"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    account = Account.objects.get(code="CL-NEW")
    assert (account.kyc_review_due.isoformat(), account.beneficial_owner) == ("2027-01-15", "Owner Ltd")
    listing = web.get(url(Account, "changelist")).content.decode()
    assert "Owner Ltd" in listing


def test_the_accounts_page_shows_kyc_expired_in_red_and_filters_on_it(signed_in, book):
    today = timezone.localdate()
    with transaction.atomic():
        reference.account_create(actor="test", code="ACC-OLD", name="Lapsed Client", kind="CLIENT",
                                 base_currency="USD", kyc_review_due=today - timedelta(days=1),
                                 beneficial_owner="Smith Family Trust")
        reference.account_create(actor="test", code="ACC-SOON", name="Soon Client", kind="CLIENT",
                                 base_currency="USD", kyc_review_due=today + timedelta(days=10),
                                 beneficial_owner="Smith Family Trust")
        reference.account_create(actor="test", code="ACC-FINE", name="Fine Client", kind="CLIENT",
                                 base_currency="USD", kyc_review_due=today + timedelta(days=200))
    response = signed_in.get("/records/accounts/")
    doc = lxml.html.fromstring(response.content.decode())
    cells = {row.xpath("td[1]")[0].text_content(): row for row in doc.xpath('//table[@id="accounts"]/tbody/tr')}
    assert cells["ACC-OLD"].xpath('td[contains(@class, "kyc")]/span/@class') == ["pill pill-bad"]
    assert "Expired" in cells["ACC-OLD"].xpath('string(td[contains(@class, "kyc")])')
    assert cells["ACC-SOON"].xpath('td[contains(@class, "kyc")]/span/@class') == ["pill pill-warn"]
    assert cells["ACC-FINE"].xpath('string(td[contains(@class, "kyc")])').strip() == (
        (today + timedelta(days=200)).isoformat())
    assert cells["ACC-OLD"].xpath("string(td[10])").strip() == "Smith Family Trust"
    assert column(signed_in.get("/records/accounts/?kyc=EXPIRED"), "accounts") == ["ACC-OLD"]
    assert column(signed_in.get("/records/accounts/?kyc=DUE"), "accounts") == ["ACC-SOON"]
    assert column(signed_in.get("/records/accounts/?search=smith+family"), "accounts") == ["ACC-OLD", "ACC-SOON"]
    assert "ACC-FINE" not in column(signed_in.get("/records/accounts/?kyc=NONE"), "accounts")
