"""Maker-checker in the admin: a change form proposes, adding stays direct, deciding is an action of the change
requests' list, and change requests themselves cannot be added, edited or deleted."""

import pytest
from django.contrib.messages import get_messages

from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.reference.models import Account, Counterparty, Instrument
from tests.conftest import APPLE, make_user
from tests.records.helpers_admin import url as admin_url
from tests.records.helpers_approvals import APPROVED, PENDING, REJECTED, audits, books, propose_cash

pytestmark = pytest.mark.django_db


def page_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_admin_change_form_proposes_and_leaves_the_row_unchanged(admin_web, superuser, accounts):
    account = accounts["ACC-001"]
    form = {"code": "ACC-001", "name": "Client One", "kind": "CLIENT", "base_currency": "USD", "status": "CLOSED",
            "cost_method": "FIFO", "allow_partial_settlement": "on", "credit_limit": "1000", "reason": "client left"}
    before = books()

    response = admin_web.post(admin_url(Account, "change", account.pk), form)

    assert response.status_code == 302
    proposal = ChangeRequest.objects.get()
    assert page_messages(response) == [f"Change submitted for approval as #{proposal.pk}"]
    assert (proposal.kind, proposal.payload, proposal.reason, proposal.proposed_by) == (
        "account.update", {"code": "ACC-001", "changes": {"status": "CLOSED"}}, "client left", superuser)
    assert books() == before
    assert not audits("records.account", action="UPDATE").exists()
    # The form shows the pending change.
    page = admin_web.get(admin_url(Account, "change", account.pk))
    assert f"Change #{proposal.pk} awaits approval" in page.content.decode()


def test_the_admin_change_form_shows_a_refused_change_as_a_form_error(admin_web, counterparties):
    broker = counterparties["BRKR-A"]
    form = {"code": "BRKR-A", "name": "Broker A", "lei": broker.lei, "is_ccp": "on",
            "clears_through": counterparties["NSCC"].pk, "requires_matching": "on", "reason": ""}

    response = admin_web.post(admin_url(Counterparty, "change", broker.pk), form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["clears_through"] == ["A CCP does not clear through another CCP."]
    assert not ChangeRequest.objects.exists()


def test_adding_in_the_admin_stays_direct(admin_web):
    form = {"code": "CL-NEW", "name": "New Client", "kind": "CLIENT", "base_currency": "USD", "status": "ACTIVE",
            "cost_method": "FIFO", "allow_partial_settlement": "on", "credit_limit": "0", "reason": ""}
    assert admin_web.post(admin_url(Account, "add"), form).status_code == 302
    assert Account.objects.filter(code="CL-NEW").exists()
    assert not ChangeRequest.objects.exists()


def test_the_proposer_cannot_approve_in_the_admin_but_another_user_can(admin_web, superuser, client, world):
    change = approvals.change_propose(actor=superuser, kind="instrument.update", reason="rename",
                                      payload={"isin": APPLE, "changes": {"name": "Apple"}})
    changelist = admin_url(ChangeRequest, "changelist")

    response = admin_web.post(changelist, {"action": "approve_selected", "_selected_action": [change.pk],
                                           "index": 0})

    assert response.status_code == 302
    assert page_messages(response) == [f"#{change.pk} not approved: You proposed change #{change.pk}: another user "
                                       "must approve it."]
    assert ChangeRequest.objects.get(pk=change.pk).status == PENDING
    assert Instrument.objects.get(isin=APPLE).name == "Apple Inc."

    other = make_user("root-2", superuser=True)
    client.force_login(other)
    response = client.post(changelist, {"action": "approve_selected", "_selected_action": [change.pk], "index": 0})

    assert page_messages(response)[-1] == f"#{change.pk} approved and applied: {change.summary}"
    assert Instrument.objects.get(isin=APPLE).name == "Apple"
    assert ChangeRequest.objects.get(pk=change.pk).decided_by == other


def test_rejecting_in_the_admin_asks_for_a_reason(admin_web, world):
    change = propose_cash(world)
    changelist = admin_url(ChangeRequest, "changelist")

    confirm = admin_web.post(changelist, {"action": "reject_selected", "_selected_action": [change.pk], "index": 0})
    assert confirm.status_code == 200 and "Reason" in confirm.content.decode()
    no_reason = admin_web.post(changelist, {"action": "reject_selected", "_selected_action": [change.pk],
                                            "apply": "Reject", "reason": " "})
    assert no_reason.status_code == 200 and "A reason is required" in no_reason.content.decode()
    assert ChangeRequest.objects.get(pk=change.pk).status == PENDING

    response = admin_web.post(changelist, {"action": "reject_selected", "_selected_action": [change.pk],
                                           "apply": "Reject", "reason": "duplicate"})

    assert response.status_code == 302
    stored = ChangeRequest.objects.get(pk=change.pk)
    assert (stored.status, stored.decision_reason) == (REJECTED, "duplicate")


def test_change_requests_cannot_be_added_edited_or_deleted_in_the_admin(admin_web, world):
    change = propose_cash(world)
    page = admin_web.get(admin_url(ChangeRequest, "change", change.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert "1005.5" not in page.content.decode() and "749.75" in page.content.decode()  # the diff
    assert admin_web.post(admin_url(ChangeRequest, "change", change.pk), {"status": APPROVED}).status_code == 403
    assert admin_web.get(admin_url(ChangeRequest, "add")).status_code == 403
    assert admin_web.post(admin_url(ChangeRequest, "delete", change.pk), {"post": "yes"}).status_code == 403
    assert ChangeRequest.objects.get(pk=change.pk).status == PENDING
