# ruff: noqa: F811 - the fixtures imported from helpers_fails are parameters of the tests
"""POST /api/v1/settlements/status-messages/: a depository's FAILED records the counterparty's failure on the
instruction, SETTLED settles what is left of it; idempotent by message_id (same body, same answer; other body,
409); malformed messages are 400s with field errors; a status the instruction cannot take changes nothing."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from records.audit.models import AuditRecord
from records.cash.services import cash_movement_create
from settlements.instructions.services.instructions import instruction_create_for_trade
from settlements.models import SettlementInstruction, StatusMessage
from tests.settlements.helpers_fails import TRADE_DATE, desk  # noqa: F401

pytestmark = pytest.mark.django_db

URL = "/api/v1/settlements/status-messages/"


def post(client, body):
    return client.post(URL, body, format="json")


def test_a_failed_status_records_the_counterpartys_failure_on_the_instruction(ops_client, desk):
    instruction = desk.instruction(symbol="AAPL", side="BUY", status="PENDING")

    response = post(ops_client, {"message_id": "DTC-0001", "instruction": instruction.pk, "status": "FAILED",
                                 "reason": "LACK: counterparty short of securities"})

    assert response.status_code == 201
    message = StatusMessage.objects.get()
    assert response.json() == {"id": message.pk, "message_id": "DTC-0001", "instruction": instruction.pk,
                               "status": "FAILED", "reason": "LACK: counterparty short of securities",
                               "received_at": response.json()["received_at"]}
    assert (message.received_by.username, message.status) == ("ops", "FAILED")
    instruction.refresh_from_db()
    assert instruction.counterparty_failed_at is not None
    assert instruction.counterparty_fail_reason == "LACK: counterparty short of securities"
    assert set(AuditRecord.objects.filter(actor_label="ops").values_list("record_type", "action")) == {
        ("settlements.statusmessage", "CREATE"), ("settlements.settlementinstruction", "UPDATE")}


def test_the_same_message_again_gets_the_same_answer_and_changes_nothing(ops_client, desk):
    instruction = desk.instruction(symbol="AAPL", side="BUY", status="PENDING")
    body = {"message_id": "DTC-0002", "instruction": instruction.pk, "status": "FAILED", "reason": "LACK"}
    first = post(ops_client, body)
    audited = AuditRecord.objects.count()
    failed_at = SettlementInstruction.objects.get(pk=instruction.pk).counterparty_failed_at

    again = post(ops_client, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert StatusMessage.objects.count() == 1
    assert AuditRecord.objects.count() == audited
    assert SettlementInstruction.objects.get(pk=instruction.pk).counterparty_failed_at == failed_at


@pytest.mark.parametrize("change", [{"status": "SETTLED", "reason": ""}, {"reason": "CLAC"}, {"instruction": None}])
def test_a_used_message_id_with_other_content_is_a_409_and_changes_nothing(ops_client, desk, change):
    instruction = desk.instruction(symbol="AAPL", side="BUY", status="PENDING")
    other = desk.instruction(symbol="MSFT", side="BUY", price="415.10", status="PENDING")
    body = {"message_id": "DTC-0003", "instruction": instruction.pk, "status": "FAILED", "reason": "LACK"}
    post(ops_client, body)
    audited = AuditRecord.objects.count()

    response = post(ops_client, {**body, **change, **({"instruction": other.pk} if "instruction" in change else {})})

    assert response.status_code == 409
    assert response.json()["detail"] == (f"Message DTC-0003 was received before with other content (instruction "
                                         f"{instruction.pk}, FAILED, 'LACK').")
    assert StatusMessage.objects.count() == 1
    assert AuditRecord.objects.count() == audited
    assert SettlementInstruction.objects.get(pk=other.pk).counterparty_failed_at is None


def test_a_settled_status_settles_what_is_left_and_closes_the_fail(ops_client, desk):
    with transaction.atomic():  # instructed as the instructions service does: its payment reserved
        cash_movement_create(actor="test", account=desk.accounts["ACC-001"], currency="USD",
                             amount=Decimal("100000"), value_date=TRADE_DATE, reference="FUND-1")
        bought = desk.trade("AAPL", "BUY", "100", counterparty="BRKR-B")  # bilateral, needs no matching
        instruction = instruction_create_for_trade(actor="test", trade_id=bought.pk)
    SettlementInstruction.objects.filter(pk=instruction.pk).update(status="FAILED")
    fail = desk.fail(instruction, cause="COUNTERPARTY")

    response = post(ops_client, {"message_id": "DTC-0004", "instruction": instruction.pk, "status": "SETTLED"})

    assert response.status_code == 201, response.json()
    instruction.refresh_from_db()
    fail.refresh_from_db()
    assert (instruction.status, instruction.settled_quantity, instruction.settled_cash) == (
        "SETTLED", Decimal("100"), Decimal("-18925"))
    assert fail.closed_on == timezone.localdate()
    assert StatusMessage.objects.get().status == "SETTLED"
    assert post(ops_client, {"message_id": "DTC-0004", "instruction": instruction.pk, "status": "SETTLED"}
                ).status_code == 200


def test_a_status_the_instruction_cannot_take_is_a_409_and_keeps_no_message(ops_client, desk):
    settled = desk.instruction(symbol="AAPL", side="BUY", status="SETTLED", settled_quantity="100")
    cancelled = desk.instruction(symbol="AAPL", side="BUY", status="CANCELLED")

    failed = post(ops_client, {"message_id": "DTC-0005", "instruction": settled.pk, "status": "FAILED",
                               "reason": "LACK"})
    settling = post(ops_client, {"message_id": "DTC-0006", "instruction": cancelled.pk, "status": "SETTLED"})

    assert (failed.status_code, settling.status_code) == (409, 409)
    assert "detail" in failed.json() and "detail" in settling.json()
    assert not StatusMessage.objects.exists()
    assert SettlementInstruction.objects.get(pk=settled.pk).counterparty_failed_at is None


@pytest.mark.parametrize(("body", "field"), [
    ({"instruction": 1, "status": "FAILED", "reason": "LACK"}, "message_id"),
    ({"message_id": "", "instruction": 1, "status": "FAILED", "reason": "LACK"}, "message_id"),
    ({"message_id": "X" * 65, "instruction": 1, "status": "FAILED", "reason": "LACK"}, "message_id"),
    ({"message_id": "M\t1", "instruction": 1, "status": "FAILED", "reason": "LACK"}, "message_id"),
    ({"message_id": 17, "instruction": 1, "status": "FAILED", "reason": "LACK"}, "message_id"),
    ({"message_id": "M-1", "instruction": "one", "status": "FAILED", "reason": "LACK"}, "instruction"),
    ({"message_id": "M-1", "instruction": 0, "status": "FAILED", "reason": "LACK"}, "instruction"),
    ({"message_id": "M-1", "instruction": 2**63, "status": "FAILED", "reason": "LACK"}, "instruction"),
    ({"message_id": "M-1", "instruction": 999_999, "status": "FAILED", "reason": "LACK"}, "instruction"),
    ({"message_id": "M-1", "instruction": 1, "status": "DONE"}, "status"),
    ({"message_id": "M-1", "instruction": 1, "status": "FAILED"}, "reason"),
    ({"message_id": "M-1", "instruction": 1, "status": "FAILED", "reason": ""}, "reason"),
    ({"message_id": "M-1", "instruction": 1, "status": "FAILED", "reason": "a\nb"}, "reason"),
    ({"message_id": "M-1", "instruction": 1, "status": "FAILED", "reason": "R" * 201}, "reason"),
])
def test_a_malformed_message_is_a_400_naming_the_field(ops_client, desk, body, field):
    response = post(ops_client, body)

    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not StatusMessage.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(ops_client, desk):
    assert ops_client.post(URL, [1, 2], format="json").status_code == 400
    assert ops_client.post(URL, "not json", content_type="application/json").status_code == 400


def test_only_operations_import_status_messages(desk, compliance_client, fo_client, anon_client):
    instruction = desk.instruction(symbol="AAPL", side="BUY", status="PENDING")
    body = {"message_id": "DTC-0007", "instruction": instruction.pk, "status": "FAILED", "reason": "LACK"}
    assert anon_client.post(URL, body, format="json").status_code == 401
    assert compliance_client.post(URL, body, format="json").status_code == 403
    assert fo_client.post(URL, body, format="json").status_code == 403
    assert not StatusMessage.objects.exists()
