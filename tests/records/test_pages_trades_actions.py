"""Working a trade from its page: release or reject (maker-checker proposals), amend and cancel, with the API's roles
and services; a refusal shows on its form and changes nothing."""

from decimal import Decimal

import lxml.html
import pytest
from django.contrib.messages import get_messages
from django.test import Client

from records.approvals.models import ChangeRequest
from records.positions.models import Position
from records.trades.models import Trade, TradeVersion
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def page(client, trade_id):
    return lxml.html.fromstring(client.get(f"/records/trades/{trade_id}/").content.decode())


def signed_in_as(username, *roles) -> Client:
    client = Client()
    client.force_login(make_user(username, *roles))
    return client


def field_errors(response, form_id) -> dict[str, list[str]]:
    doc = lxml.html.fromstring(response.content.decode())
    errors = {}
    for error in doc.xpath(f'//form[@id="{form_id}"]//div[@class="field-error"]'):
        field = error.xpath('ancestor::div[contains(@class, "filter")][1]//label/text()')
        errors.setdefault(field[0] if field else "form", []).append(error.text_content())
    return errors


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_an_operations_user_sees_amend_and_cancel_on_a_booked_trade_and_release_too_on_a_held_one(signed_in, blotter):
    booked = page(signed_in, blotter.ids["OMS-0001"])
    assert booked.xpath('//section[@id="work-trade"]//form/@id') == ["amend-form", "cancel-form"]
    assert booked.xpath('//form[@id="amend-form"]//input[@name="quantity"]/@value') == ["100"]
    assert booked.xpath('//form[@id="amend-form"]/@data-confirm')
    held = page(signed_in, blotter.ids["BIG-0001"])
    assert held.xpath('//section[@id="work-trade"]//form/@id') == ["release-form", "reject-form", "amend-form",
                                                                   "cancel-form"]
    assert held.xpath('//form[@id="release-form"]/@method') == ["post"]
    assert held.xpath('//form[@id="release-form"]//input[@name="csrfmiddlewaretoken"]')


@pytest.mark.parametrize("ref", ["OMS-0002", "OMS-0003"])  # cancelled, settled
def test_a_trade_past_amending_offers_no_forms(signed_in, blotter, ref):
    assert not page(signed_in, blotter.ids[ref]).xpath('//section[@id="work-trade"]')


def test_roles_decide_which_forms_show_and_which_posts_are_refused(blotter):
    held = blotter.ids["BIG-0001"]
    accounting = signed_in_as("acct", "accounting")
    assert not page(accounting, held).xpath('//section[@id="work-trade"]')
    compliance = signed_in_as("comp", "compliance")
    assert page(compliance, held).xpath('//section[@id="work-trade"]//form/@id') == ["release-form", "reject-form"]
    front_office = signed_in_as("fo", "front_office")
    assert page(front_office, held).xpath('//section[@id="work-trade"]//form/@id') == ["amend-form", "cancel-form"]
    assert front_office.post(f"/records/trades/{held}/release/", {"release-reason": "ok"}).status_code == 403
    assert front_office.post(f"/records/trades/{held}/reject/", {"reject-reason": "no"}).status_code == 403
    assert accounting.post(f"/records/trades/{held}/reject/", {"reject-reason": "no"}).status_code == 403
    assert accounting.post(f"/records/trades/{held}/cancel/", {"cancel-reason": "x"}).status_code == 403
    assert compliance.post(f"/records/trades/{held}/amend/", {"quantity": "1", "reason": "x"}).status_code == 403
    assert ChangeRequest.objects.count() == 0
    assert Trade.objects.get(pk=held).status == "HELD"


@pytest.mark.parametrize("action", ["amend", "cancel", "release", "reject"])
def test_the_actions_are_post_only(signed_in, blotter, action):
    assert signed_in.get(f"/records/trades/{blotter.ids['BIG-0001']}/{action}/").status_code == 405


def test_amend_changes_what_differs_keeps_the_old_version_and_says_so(signed_in, blotter):
    trade = blotter.trade("OMS-0001")
    response = signed_in.post(f"/records/trades/{trade.pk}/amend/", {
        "quantity": "150", "price": "189.25", "settlement_date": trade.settlement_date.isoformat(),
        "commission": "5", "reason": "Partial fill corrected"}, follow=True)
    assert flash(response) == [f"Trade {trade.pk} amended: now version 2."]
    trade.refresh_from_db()
    assert (trade.quantity, trade.version, trade.status) == (Decimal("150"), 2, "BOOKED")
    assert list(TradeVersion.objects.filter(trade=trade).values_list("version", "quantity", "reason")) == [
        (1, Decimal("100"), "Partial fill corrected")]


@pytest.mark.parametrize(("data", "errors"), [
    ({"quantity": "abc", "reason": "x"}, {"Quantity": ["A valid number is required."]}),
    ({"quantity": "-1", "reason": "x"}, {"Quantity": ["Must be greater than zero."]}),
    ({"quantity": "100", "reason": ""}, {"Reason": ["This field is required."]}),
    ({"quantity": "100", "reason": "nothing"}, {"form": ["The amendment changes nothing."]}),
    ({"settlement_date": "2026-01-03", "reason": "x"}, {"Settlement date": [
        "Settlement date is before the trade date."]}),
])
def test_a_refused_amendment_shows_why_on_its_form_and_changes_nothing(signed_in, blotter, data, errors):
    trade = blotter.trade("OMS-0001")
    response = signed_in.post(f"/records/trades/{trade.pk}/amend/", data)
    assert response.status_code == 400
    assert field_errors(response, "amend-form") == errors
    after = Trade.objects.get(pk=trade.pk)
    assert (after.quantity, after.settlement_date, after.version) == (trade.quantity, trade.settlement_date, 1)


def test_cancel_needs_a_reason_then_cancels(signed_in, blotter):
    trade_id = blotter.ids["OMS-0010"]
    refused = signed_in.post(f"/records/trades/{trade_id}/cancel/", {"cancel-reason": " "})
    assert (refused.status_code, field_errors(refused, "cancel-form")) == (400, {"Reason": ["This field is required."]})
    assert Trade.objects.get(pk=trade_id).status == "BOOKED"
    response = signed_in.post(f"/records/trades/{trade_id}/cancel/", {"cancel-reason": "Booked in error"}, follow=True)
    assert flash(response) == [f"Trade {trade_id} cancelled."]
    assert Trade.objects.get(pk=trade_id).status == "CANCELLED"


def test_release_proposes_the_change_and_a_second_user_books_the_trade(signed_in, blotter):
    held = blotter.ids["BIG-0001"]
    response = signed_in.post(f"/records/trades/{held}/release/", {"release-reason": "Limit raised"}, follow=True)
    change = ChangeRequest.objects.get()
    assert (change.kind, change.payload, change.status) == ("trade.release", {"trade_id": held}, "PENDING")
    assert flash(response) == [f"Release of trade {held} proposed as change #{change.pk}: it is booked once another "
                               f"user approves it."]
    assert Trade.objects.get(pk=held).status == "HELD"
    doc = page(signed_in, held)
    assert doc.xpath('//section[@id="work-trade"]//form/@id') == ["amend-form", "cancel-form"]
    assert f"Release proposed as change #{change.pk}" in doc.xpath('string(//div[@id="hold-reasons"])')
    again = signed_in.post(f"/records/trades/{held}/release/", {"release-reason": "Again"}, follow=True)
    assert flash(again) == [f"Change #{change.pk} to {held} is already awaiting approval."]
    assert ChangeRequest.objects.count() == 1
    checker = signed_in_as("checker", "compliance")
    checker.post(f"/records/approvals/{change.pk}/approve/", {"reason": "ok"})
    assert Trade.objects.get(pk=held).status == "BOOKED"
    assert not page(signed_in, held).xpath('//form[@id="release-form"]')


def test_reject_proposes_the_change_and_a_second_user_rejects_the_trade_outside_the_position(signed_in, blotter):
    held = blotter.ids["BIG-0001"]
    trade = Trade.objects.get(pk=held)
    positions_before = list(Position.objects.filter(account=trade.account_id, instrument=trade.instrument_id)
                            .values_list("traded_quantity", "settled_quantity"))
    blank = signed_in.post(f"/records/trades/{held}/reject/", {"reject-reason": "  "})
    assert blank.status_code == 400 and field_errors(blank, "reject-form")
    response = signed_in.post(f"/records/trades/{held}/reject/", {"reject-reason": "Client denies the order"},
                              follow=True)
    change = ChangeRequest.objects.get()
    assert (change.kind, change.payload, change.status) == ("trade.reject", {"trade_id": held}, "PENDING")
    assert flash(response) == [f"Rejection of trade {held} proposed as change #{change.pk}: it is rejected once "
                               f"another user approves it."]
    doc = page(signed_in, held)
    # Pending a decision: neither release nor reject is offered again.
    assert doc.xpath('//section[@id="work-trade"]//form/@id') == ["amend-form", "cancel-form"]
    assert f"Rejection proposed as change #{change.pk}" in doc.xpath('string(//div[@id="hold-reasons"])')
    release = signed_in.post(f"/records/trades/{held}/release/", {"release-reason": "Actually fine"}, follow=True)
    assert flash(release) == [f"Change #{change.pk} (trade.reject) of trade {held} is already awaiting approval."]
    assert ChangeRequest.objects.count() == 1
    signed_in_as("checker", "compliance").post(f"/records/approvals/{change.pk}/approve/", {"reason": "ok"})
    assert Trade.objects.get(pk=held).status == "REJECTED"
    assert list(Position.objects.filter(account=trade.account_id, instrument=trade.instrument_id)
                .values_list("traded_quantity", "settled_quantity")) == positions_before
    assert not page(signed_in, held).xpath('//section[@id="work-trade"]')


def test_amending_a_trade_cancelled_meanwhile_says_why_and_changes_nothing(signed_in, blotter):
    trade_id = blotter.ids["OMS-0002"]  # cancelled by the fixture
    response = signed_in.post(f"/records/trades/{trade_id}/amend/", {"quantity": "5", "reason": "x"}, follow=True)
    assert flash(response) == [f"Trade {trade_id} is CANCELLED: it can no longer be amended."]
    assert Trade.objects.get(pk=trade_id).version == 1
