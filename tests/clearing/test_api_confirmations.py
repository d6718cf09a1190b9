# ruff: noqa: F811 - the fixtures imported from helpers_matching are parameters of the tests
"""The confirmations API (API.md "Clearing"): receive one or a list, read, resolve breaks, start matching."""

import json
from decimal import Decimal

import pytest

from backoffice.core.jobs.models import JobRun
from clearing.models import Confirmation
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.trades.models import Trade
from tests.clearing.helpers_matching import APPLE, SETTLES, TRADE_DATE, firm  # noqa: F401
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/confirmations/"


def body(ref="CONF-1", **changes) -> dict:
    return {"counterparty": "BRKR-A", "counterparty_ref": ref, "account": "ACC-001", "instrument": APPLE,
            "side": "SELL", "quantity": "100", "price": "189.25", "trade_date": TRADE_DATE.isoformat(),
            "settlement_date": SETTLES.isoformat(), **changes}


def post_raw(client, text: str):
    return client.post(URL, data=text, content_type="application/json")


def nothing_written(before_confirmations: int, before_audit: int) -> bool:
    return Confirmation.objects.count() == before_confirmations and AuditRecord.objects.count() == before_audit


def test_a_confirmation_of_a_booked_trade_answers_201_matched_with_the_trade(firm):
    trade = firm.trade("OMS-1")
    response = client_for(firm.broker).post(URL, body(), format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert {k: answer[k] for k in ("counterparty", "counterparty_ref", "account", "instrument", "side", "quantity",
                                   "price", "trade_date", "settlement_date", "trade_ref", "match_status", "trade",
                                   "mismatches", "source", "age_days", "resolution")} == {
        "counterparty": "BRKR-A", "counterparty_ref": "CONF-1", "account": "ACC-001", "instrument": APPLE,
        "side": "SELL", "quantity": "100", "price": "189.25", "trade_date": "2026-11-20",
        "settlement_date": "2026-11-23", "trade_ref": "", "match_status": "MATCHED", "trade": trade.pk,
        "mismatches": [], "source": "API", "age_days": None, "resolution": ""}
    assert Trade.objects.get(pk=trade.pk).match_status == "MATCHED"


def test_a_confirmation_without_its_trade_answers_201_unmatched_and_the_same_body_again_200_with_nothing_new(firm):
    client = client_for(firm.broker)
    first = client.post(URL, body(quantity="100.000"), format="json")
    assert first.status_code == 201
    assert (first.json()["match_status"], first.json()["trade"], first.json()["age_days"]) == ("UNMATCHED", None, 0)
    count = Confirmation.objects.count()
    again = client.post(URL, body(), format="json")  # "100" and "100.000" are the same terms
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Confirmation.objects.count() == count


def test_a_used_reference_with_other_terms_answers_409_and_changes_nothing(firm):
    client = client_for(firm.broker)
    client.post(URL, body(), format="json")
    before = (Confirmation.objects.count(), AuditRecord.objects.count())
    response = client.post(URL, body(quantity="101"), format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "counterparty_ref 'CONF-1' of BRKR-A was already used for a confirmation "
                                         "with other terms."}
    assert nothing_written(*before)


@pytest.mark.parametrize(("changes", "errors"), [
    ({"counterparty": "NOBODY"}, {"counterparty": ["Unknown counterparty 'NOBODY'."]}),
    ({"account": "ACC-404"}, {"account": ["Unknown account 'ACC-404'."]}),
    ({"instrument": "US0000000000"}, {"instrument": ["Unknown instrument 'US0000000000'."]}),
    ({"trade_ref": "OMS-404"}, {"trade_ref": ["No trade 'OMS-404' with counterparty BRKR-A."]}),
    ({"settlement_date": "2026-11-19"}, {"settlement_date": ["Settlement date is before the trade date."]}),
    ({"trade_date": "2099-01-02", "settlement_date": "2099-01-05"}, {"trade_date": ["Trade date is in the future."]}),
])
def test_unknown_references_and_impossible_dates_answer_400_with_field_errors_and_write_nothing(firm, changes, errors):
    client = client_for(firm.broker)
    before = (Confirmation.objects.count(), AuditRecord.objects.count())
    response = client.post(URL, body(**changes), format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert nothing_written(*before)


@pytest.mark.parametrize(("text", "errors"), [
    # JSON numbers are read exactly: this one has 17 decimal places, a price holds 8.
    ('"price": 101.12999999999999545', {"price": ["Ensure that there are no more than 8 decimal places."]}),
    ('"price": "101.12999999999999545"', {"price": ["Ensure that there are no more than 8 decimal places."]}),
    ('"quantity": 0', {"quantity": ["Must be greater than zero."]}),
    ('"quantity": "1e3"', None),
    ('"side": "BOUGHT"', {"side": ['"BOUGHT" is not a valid choice.']}),
    ('"trade_date": "20261120"', {"trade_date": ["Date has wrong format. Use one of these formats instead: "
                                                 "YYYY-MM-DD."]}),
    ('"counterparty": null', {"counterparty": ["This field may not be null."]}),
])
def test_malformed_fields_answer_400_never_rounded_and_write_nothing(firm, text, errors):
    name = text.split(":")[0].strip('"')
    fields = {k: v for k, v in body().items() if k != name}
    raw = "{" + ", ".join(f'"{k}": {json.dumps(v)}' for k, v in fields.items()) + ", " + text + "}"
    client = client_for(firm.broker)
    before = (Confirmation.objects.count(), AuditRecord.objects.count())
    response = post_raw(client, raw)
    if errors is None:  # an exponent is a decimal the rule accepts, exactly
        assert response.status_code == 201, response.json()
        assert response.json()["quantity"] == "1000"
        return
    assert response.status_code == 400
    assert response.json() == errors
    assert nothing_written(*before)


def test_a_list_answers_a_result_per_item_and_stores_the_valid_ones(firm):
    trade = firm.trade("OMS-1")
    client = client_for(firm.broker)
    client.post(URL, body("CONF-OLD", quantity="7"), format="json")  # MISMATCHED: the trade differs
    response = client.post(URL, [
        body("CONF-1"),                                  # matches the trade; CONF-OLD is left without one
        body("CONF-2", account="ACC-404"),               # unknown account
        body("CONF-OLD", quantity="7"),                  # sent before, same terms
        body("CONF-OLD", quantity="8"),                  # sent before, other terms
        body("CONF-3", quantity="50"),                   # nothing to match: the trade is taken
    ], format="json")
    assert response.status_code == 200, response.json()
    answer = response.json()
    old = Confirmation.objects.get(counterparty_ref="CONF-OLD").pk
    new = dict(Confirmation.objects.values_list("counterparty_ref", "pk"))
    assert answer == {"created": 2, "duplicates": 1, "rejected": 1, "conflicts": 1, "results": [
        {"index": 0, "status": "created", "id": new["CONF-1"], "match_status": "MATCHED", "trade": trade.pk},
        {"index": 1, "status": "rejected", "errors": {"account": ["Unknown account 'ACC-404'."]}},
        {"index": 2, "status": "duplicate", "id": old, "match_status": "UNMATCHED", "trade": None},
        {"index": 3, "status": "conflict", "errors": {"counterparty_ref": [
            "counterparty_ref 'CONF-OLD' of BRKR-A was already used for a confirmation with other terms."]}},
        {"index": 4, "status": "created", "id": new["CONF-3"], "match_status": "UNMATCHED", "trade": None},
    ]}


def test_a_list_with_a_malformed_item_is_refused_whole_with_errors_per_item(firm):
    client = client_for(firm.broker)
    before = (Confirmation.objects.count(), AuditRecord.objects.count())
    response = client.post(URL, [body("CONF-1"), body("CONF-2", price="101.129999999999995")], format="json")
    assert response.status_code == 400
    assert response.json() == [{}, {"price": ["Ensure that there are no more than 8 decimal places."]}]
    assert nothing_written(*before)


def test_an_empty_list_is_400_and_an_oversized_one_413(firm):
    client = client_for(firm.broker)
    assert client.post(URL, [], format="json").status_code == 400
    response = client.post(URL, [body(f"C-{n}") for n in range(10_001)], format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "At most 10000 confirmations per request; got 10001."}


def test_roles_front_office_and_operations_submit_operations_compliance_accounting_read(
        firm, fo_client, ops_client, compliance_client, accounting_client):
    assert fo_client.post(URL, body("C-FO"), format="json").status_code == 201
    assert ops_client.post(URL, body("C-OPS"), format="json").status_code == 201
    assert compliance_client.post(URL, body("C-COMP"), format="json").status_code == 403
    assert accounting_client.post(URL, body("C-ACCT"), format="json").status_code == 403
    assert fo_client.get(URL).status_code == 403
    for client in (ops_client, compliance_client, accounting_client):
        assert client.get(URL).status_code == 200
    pk = Confirmation.objects.get(counterparty_ref="C-FO").pk
    assert fo_client.get(f"{URL}{pk}/").status_code == 403
    assert compliance_client.post(f"{URL}{pk}/resolve/", {"action": "reject", "reason": "x"},
                                  format="json").status_code == 403
    assert fo_client.post(f"{URL}match/").status_code == 403


def test_the_list_filters_by_match_status_and_counterparty_and_pages(firm, ops_client):
    firm.trade("OMS-1")
    firm.confirm("C-1")
    firm.confirm("C-2", quantity="5")
    response = ops_client.get(URL, {"match_status": "UNMATCHED", "counterparty": "BRKR-A", "page_size": 1})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["count"], [r["counterparty_ref"] for r in answer["results"]]) == (1, ["C-2"])
    assert ops_client.get(URL, {"counterparty": "NSCC"}).json()["count"] == 0
    assert ops_client.get(URL, {"match_status": "SOMETIMES"}).status_code == 400
    assert ops_client.get(URL, {"trade_date": "20261120"}).status_code == 400


def test_a_confirmation_reads_with_its_mismatches_and_an_unknown_one_is_404(firm, ops_client):
    trade = firm.trade("OMS-1", quantity="110")
    confirmation = firm.confirm("C-1")
    answer = ops_client.get(f"{URL}{confirmation.pk}/").json()
    assert (answer["match_status"], answer["trade"], answer["mismatches"]) == (
        "MISMATCHED", trade.pk, [{"field": "quantity", "ours": "110", "theirs": "100"}])
    assert ops_client.get(f"{URL}999999/").status_code == 404
    assert ops_client.get(f"{URL}99999999999999999999999/").status_code == 404


def test_reject_and_request_new_answer_200_with_the_rejected_confirmation(firm):
    clerk = client_for(firm.clerk)
    first, second = firm.confirm("C-1", quantity="5"), firm.confirm("C-2", quantity="6")
    response = clerk.post(f"{URL}{first.pk}/resolve/", {"action": "reject", "reason": "not our trade"}, format="json")
    assert response.status_code == 200
    assert (response.json()["match_status"], response.json()["resolution"], response.json()["resolution_reason"],
            response.json()["resolved_by"]) == ("REJECTED", "REJECTED", "not our trade", "clerk")
    response = clerk.post(f"{URL}{second.pk}/resolve/", {"action": "request_new", "reason": "wrong quantity"},
                          format="json")
    assert (response.status_code, response.json()["resolution"]) == (200, "NEW_REQUESTED")
    again = clerk.post(f"{URL}{first.pk}/resolve/", {"action": "reject", "reason": "again"}, format="json")
    assert again.status_code == 409
    assert again.json() == {"detail": f"Confirmation {first.pk} is rejected: only an unmatched or mismatched one can "
                                      "be resolved."}


def test_resolving_needs_a_reason_a_known_action_and_for_force_match_a_trade(firm):
    clerk = client_for(firm.clerk)
    confirmation = firm.confirm("C-1", quantity="5")
    url = f"{URL}{confirmation.pk}/resolve/"
    assert clerk.post(url, {"action": "reject"}, format="json").json() == {"reason": ["This field is required."]}
    assert clerk.post(url, {"action": "shrug", "reason": "x"}, format="json").status_code == 400
    assert clerk.post(url, {"action": "force_match", "reason": "x"}, format="json").json() == {
        "trade": ["Name the trade to match it to."]}
    assert clerk.post(url, {"action": "force_match", "reason": "x", "trade": 10**20}, format="json").status_code == 400
    assert clerk.post(url, {"action": "force_match", "reason": "x", "trade": 987654}, format="json").status_code == 400
    assert clerk.post(f"{URL}987654/resolve/", {"action": "reject", "reason": "x"}, format="json").status_code == 404
    assert Confirmation.objects.get(pk=confirmation.pk).match_status == "UNMATCHED"
    assert not ChangeRequest.objects.exists()


def test_force_match_answers_202_with_the_proposal_and_matches_once_another_user_approves(firm):
    trade = firm.trade("OMS-1", quantity="110")
    confirmation = firm.confirm("C-1")
    response = client_for(firm.clerk).post(f"{URL}{confirmation.pk}/resolve/", {
        "action": "force_match", "reason": "broker confirmed 110 by phone", "trade": trade.pk}, format="json")
    assert response.status_code == 202, response.json()
    change = response.json()
    assert (change["kind"], change["status"], change["target_type"], change["target_id"], change["payload"]) == (
        "confirmation.force_match", "PENDING", "clearing.confirmation", str(confirmation.pk),
        {"confirmation_id": confirmation.pk, "trade_id": trade.pk})
    assert change["summary"] == (f"Force-match confirmation BRKR-A C-1 (#{confirmation.pk}) to trade #{trade.pk} "
                                 "OMS-1 despite quantity ours 110, theirs 100")
    assert Confirmation.objects.get(pk=confirmation.pk).match_status == "MISMATCHED"

    assert client_for(firm.clerk).post(f"/api/v1/approvals/{change['id']}/approve/", {},
                                       format="json").status_code == 403
    approved = client_for(firm.checker).post(f"/api/v1/approvals/{change['id']}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "APPROVED"
    answer = client_for(firm.checker).get(f"{URL}{confirmation.pk}/").json()
    assert (answer["match_status"], answer["trade"], answer["resolution"], answer["resolved_by"]) == (
        "MATCHED", trade.pk, "FORCE_MATCHED", "checker")
    assert answer["mismatches"] == [{"field": "quantity", "ours": "110", "theirs": "100"}]
    assert Trade.objects.get(pk=trade.pk).match_status == "MATCHED"


def test_match_answers_202_with_the_job(firm, ops_client):
    response = ops_client.post(f"{URL}match/")
    assert response.status_code == 202
    job = JobRun.objects.get(pk=response.json()["id"])
    assert (response.json()["kind"], job.kind, job.started_by_label) == ("clearing-match", "clearing-match", "ops")


def test_decimals_come_out_as_exact_strings(firm, ops_client):
    firm.confirm("C-1", quantity="0.000001", price="0.00000001")
    answer = ops_client.get(URL).json()["results"][0]
    assert (answer["quantity"], answer["price"]) == ("0.000001", "0.00000001")
    assert Decimal(answer["price"]) == Decimal("1E-8")
