# ruff: noqa: F811 - the fixtures imported from helpers_fails are parameters of the tests
"""ISO 20022 sese.023.001.11 of settlement instructions: valid against the official schema (several kinds of
instruction), the mapping field by field, the business rules the schema does not check (409 with the reasons),
the API (application/xml, 404, roles, documented) and the dashboard's download."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from lxml import etree

from backoffice.core.jobs.services import job_create
from clearing.models import ClearingRun, NettedTrade, Obligation
from records.reference.models import Instrument
from settlements.iso20022 import builder
from settlements.iso20022.selectors import instruction_export_facts
from settlements.models import SettlementInstruction, StandingSettlementInstruction
from tests.settlements.helpers_fails import desk  # noqa: F401

pytestmark = pytest.mark.django_db

XSD = builder.xsd_path()
needs_xsd = pytest.mark.skipif(not XSD.is_file(), reason=f"the official sese.023.001.11 schema is not at {XSD}: "
                                                         "set ISO20022_SESE023_XSD to its path")
NS = {"s": builder.NAMESPACE}


def url(instruction_id) -> str:
    return f"/api/v1/settlements/instructions/{instruction_id}/sese023/"


def parsed(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    return etree.fromstring(response.content)


def value(doc, path: str) -> str | None:
    found = doc.xpath(path, namespaces=NS)
    if not found:
        return None
    node = found[0]
    return node if isinstance(node, str) else node.text


def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


INSTRUCTIONS = {
    "a sale of US shares against payment": {"symbol": "AAPL", "side": "SELL", "quantity": "100", "price": "189.25"},
    "a purchase of US shares": {"symbol": "MSFT", "side": "BUY", "quantity": "12.5", "price": "415.12"},
    "German shares in Clearstream": {"symbol": "SAP", "side": "SELL", "quantity": "50", "price": "187.36"},
    "UK shares in CREST, all or none": {"symbol": "VOD", "side": "BUY", "quantity": "10000", "price": "0.7204",
                                        "allow_partial": False},
    "a US Treasury by face amount": {"symbol": "UST", "side": "BUY", "quantity": "2500000", "price": "0.99125"},
    "a Bund free of payment": {"symbol": "BUND", "side": "SELL", "quantity": "1000000", "price": "0.98",
                               "payment": "FREE"},
    "another counterparty's default SSI": {"symbol": "AAPL", "side": "SELL", "quantity": "1", "price": "189.25",
                                           "counterparty": "BRKR-C"},
}


@needs_xsd
@pytest.mark.parametrize("name", list(INSTRUCTIONS))
def test_each_kind_of_instruction_exports_a_message_the_official_schema_accepts(ops_client, desk, name):
    instruction = desk.instruction(**INSTRUCTIONS[name])

    doc = parsed(ops_client.get(url(instruction.pk)))

    validator = schema()
    assert validator.validate(doc), validator.error_log
    assert value(doc, "//s:TxId") == str(instruction.pk)


def test_a_delivery_against_payment_field_by_field(ops_client, desk):
    instruction = desk.instruction(symbol="AAPL", side="SELL", quantity="100", price="189.25")

    doc = parsed(ops_client.get(url(instruction.pk)))

    assert doc.tag == f"{{{builder.NAMESPACE}}}Document"
    tx = "/s:Document/s:SctiesSttlmTxInstr/"
    assert {path: value(doc, tx + path) for path in [
        "s:TxId", "s:SttlmTpAndAddtlParams/s:SctiesMvmntTp", "s:SttlmTpAndAddtlParams/s:Pmt",
        "s:TradDtls/s:TradId", "s:TradDtls/s:TradDt/s:Dt/s:Dt", "s:TradDtls/s:SttlmDt/s:Dt/s:Dt",
        "s:FinInstrmId/s:ISIN", "s:FinInstrmId/s:Desc", "s:QtyAndAcctDtls/s:SttlmQty/s:Qty/s:Unit",
        "s:QtyAndAcctDtls/s:SfkpgAcct/s:Id", "s:QtyAndAcctDtls/s:SfkpgAcct/s:Nm",
        "s:QtyAndAcctDtls/s:SfkpgPlc/s:SfkpgPlcFrmt/s:TpAndId/s:SfkpgPlcTp",
        "s:QtyAndAcctDtls/s:SfkpgPlc/s:SfkpgPlcFrmt/s:TpAndId/s:Id",
        "s:SttlmParams/s:SctiesTxTp/s:Cd", "s:SttlmParams/s:PrtlSttlmInd",
        "s:RcvgSttlmPties/s:Dpstry/s:Id/s:AnyBIC", "s:RcvgSttlmPties/s:Pty1/s:Id/s:AnyBIC",
        "s:RcvgSttlmPties/s:Pty1/s:SfkpgAcct/s:Id", "s:RcvgSttlmPties/s:Pty2/s:Id/s:NmAndAdr/s:Nm",
        "s:RcvgSttlmPties/s:Pty2/s:LEI", "s:SttlmAmt/s:Amt", "s:SttlmAmt/s:Amt/@Ccy", "s:SttlmAmt/s:CdtDbtInd",
    ]} == {
        "s:TxId": str(instruction.pk), "s:SttlmTpAndAddtlParams/s:SctiesMvmntTp": "DELI",
        "s:SttlmTpAndAddtlParams/s:Pmt": "APMT", "s:TradDtls/s:TradId": instruction.trade.external_ref,
        "s:TradDtls/s:TradDt/s:Dt/s:Dt": "2026-11-20", "s:TradDtls/s:SttlmDt/s:Dt/s:Dt": "2026-11-23",
        "s:FinInstrmId/s:ISIN": "US0378331005", "s:FinInstrmId/s:Desc": "Apple Inc.",
        "s:QtyAndAcctDtls/s:SttlmQty/s:Qty/s:Unit": "100", "s:QtyAndAcctDtls/s:SfkpgAcct/s:Id": "ACC-001",
        "s:QtyAndAcctDtls/s:SfkpgAcct/s:Nm": "Client One",
        "s:QtyAndAcctDtls/s:SfkpgPlc/s:SfkpgPlcFrmt/s:TpAndId/s:SfkpgPlcTp": "NCSD",
        "s:QtyAndAcctDtls/s:SfkpgPlc/s:SfkpgPlcFrmt/s:TpAndId/s:Id": "DTCYUS33",
        "s:SttlmParams/s:SctiesTxTp/s:Cd": "TRAD", "s:SttlmParams/s:PrtlSttlmInd": "PART",
        "s:RcvgSttlmPties/s:Dpstry/s:Id/s:AnyBIC": "DTCYUS33", "s:RcvgSttlmPties/s:Pty1/s:Id/s:AnyBIC": "IRVTUS3NXXX",
        "s:RcvgSttlmPties/s:Pty1/s:SfkpgAcct/s:Id": "DTC-0901",
        "s:RcvgSttlmPties/s:Pty2/s:Id/s:NmAndAdr/s:Nm": "Broker A",
        "s:RcvgSttlmPties/s:Pty2/s:LEI": instruction.counterparty.lei,
        "s:SttlmAmt/s:Amt": "18925.00", "s:SttlmAmt/s:Amt/@Ccy": "USD", "s:SttlmAmt/s:CdtDbtInd": "CRDT",
    }
    assert value(doc, tx + "s:DlvrgSttlmPties") is None


def test_a_receipt_names_the_delivering_side_and_pays(ops_client, desk):
    instruction = desk.instruction(symbol="SAP", side="BUY", quantity="50", price="187.36", allow_partial=False)

    doc = parsed(ops_client.get(url(instruction.pk)))

    tx = "/s:Document/s:SctiesSttlmTxInstr/"
    assert value(doc, tx + "s:SttlmTpAndAddtlParams/s:SctiesMvmntTp") == "RECE"
    assert value(doc, tx + "s:RcvgSttlmPties") is None
    # BRKR-A's SSI for Xetra, not its default.
    assert (value(doc, tx + "s:DlvrgSttlmPties/s:Dpstry/s:Id/s:AnyBIC"),
            value(doc, tx + "s:DlvrgSttlmPties/s:Pty1/s:Id/s:AnyBIC"),
            value(doc, tx + "s:DlvrgSttlmPties/s:Pty1/s:SfkpgAcct/s:Id")) == ("DAKVDEFFXXX", "DEUTDEFFXXX", "CBF-7001")
    assert (value(doc, tx + "s:SttlmAmt/s:Amt"), value(doc, tx + "s:SttlmAmt/s:Amt/@Ccy"),
            value(doc, tx + "s:SttlmAmt/s:CdtDbtInd"), value(doc, tx + "s:SttlmParams/s:PrtlSttlmInd")) == (
        "9368.00", "EUR", "DBIT", "NPAR")


def test_bonds_settle_in_face_amount_and_free_of_payment_moves_no_cash(ops_client, desk):
    bund = desk.instruction(symbol="BUND", side="SELL", quantity="1000000", price="0.98", payment="FREE")

    doc = parsed(ops_client.get(url(bund.pk)))

    tx = "/s:Document/s:SctiesSttlmTxInstr/"
    assert value(doc, tx + "s:QtyAndAcctDtls/s:SttlmQty/s:Qty/s:FaceAmt") == "1000000"
    assert value(doc, tx + "s:QtyAndAcctDtls/s:SttlmQty/s:Qty/s:Unit") is None
    assert value(doc, tx + "s:SttlmTpAndAddtlParams/s:Pmt") == "FREE"
    assert value(doc, tx + "s:SttlmAmt") is None


def _refused(client, instruction_id) -> list[str]:
    response = client.get(url(instruction_id))
    assert response.status_code == 409, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["detail"].startswith(f"Instruction {instruction_id} cannot be exported as sese.023.001.11: ")
    return body["reasons"]


def test_an_instruction_without_a_standing_settlement_instruction_is_refused(ops_client, desk):
    instruction = desk.instruction(symbol="AAPL", ssi=False)

    assert _refused(ops_client, instruction.pk) == [
        f"Instruction {instruction.pk} has no standing settlement instruction: the counterparty BRKR-A has none "
        "for XNAS."]


def test_bad_check_digits_and_bics_are_refused_with_every_reason(ops_client, desk):
    instruction = desk.instruction(symbol="AAPL")
    Instrument.objects.filter(pk=instruction.instrument_id).update(isin="US0378331006")
    StandingSettlementInstruction.objects.filter(pk=instruction.ssi_id).update(agent_bic="IRVT1S3N",
                                                                               place_of_settlement_bic="DTCYXX33")

    assert _refused(ops_client, instruction.pk) == [
        "The place of settlement 'DTCYXX33' is not a valid BIC (ISO 9362).",
        "The counterparty's settlement agent 'IRVT1S3N' is not a valid BIC (ISO 9362).",
        "'US0378331006' is not a valid ISIN (check digit)."]


def test_a_gross_trades_amount_must_be_its_quantity_times_its_price(ops_client, desk):
    instruction = desk.instruction(symbol="AAPL", side="SELL", quantity="100", price="189.25", cash_amount="18952.00")

    assert _refused(ops_client, instruction.pk) == [
        "The amount 18952.0000 USD is not the trade's quantity x price: 100.000000 x 189.25000000 = 18925.0000."]


def test_the_payment_type_direction_and_minor_units_must_agree(ops_client, desk):
    free_with_cash = desk.instruction(symbol="AAPL", payment="FREE", cash_amount="10")
    backwards = desk.instruction(symbol="AAPL", side="SELL")
    SettlementInstruction.objects.filter(pk=backwards.pk).update(direction="RECEIVE")
    sub_cent = desk.instruction(symbol="AAPL", side="SELL", quantity="3", price="0.3333")

    assert _refused(ops_client, free_with_cash.pk) == [
        "A free-of-payment instruction moves no cash; this one says 10.0000."]
    assert _refused(ops_client, backwards.pk) == [
        f"Trade {backwards.trade_id} is a sell: the instruction should deliver, not receive."]
    assert _refused(ops_client, sub_cent.pk) == ["The cash amount 0.9999 has more decimals than USD has minor units."]


def test_a_cancelled_instruction_is_refused(ops_client, desk):
    instruction = desk.instruction(symbol="AAPL", status="CANCELLED")
    assert _refused(ops_client, instruction.pk) == [f"Instruction {instruction.pk} is cancelled: there is nothing to "
                                                    "instruct."]


@needs_xsd
def test_a_message_the_schema_refuses_never_leaves(ops_client, desk, monkeypatch):
    instruction = desk.instruction(symbol="AAPL")
    monkeypatch.setattr(builder, "sese023_build", lambda facts: b'<Document xmlns="%s"/>' % builder.NAMESPACE.encode())

    reasons = _refused(ops_client, instruction.pk)

    assert len(reasons) == 1 and reasons[0].startswith("Not valid against sese.023.001.11.xsd: line 1:")


def test_without_the_schema_file_the_business_rules_still_apply(ops_client, desk, settings, tmp_path):
    settings.ISO20022_SESE023_XSD = str(tmp_path / "absent.xsd")
    instruction = desk.instruction(symbol="AAPL")
    facts = instruction_export_facts(instruction.pk)

    assert builder.sese023_validate(builder.sese023_build(facts)) is None
    assert ops_client.get(url(instruction.pk)).status_code == 200


def test_unknown_instructions_roles_and_the_schema_of_the_endpoint(ops_client, desk, fo_client, anon_client,
                                                                   compliance_client):
    instruction = desk.instruction(symbol="AAPL")
    missing = ops_client.get(url(999_999))
    assert (missing.status_code, missing["Content-Type"], set(missing.json())) == (404, "application/json",
                                                                                  {"detail"})
    assert anon_client.get(url(instruction.pk)).status_code == 401
    assert fo_client.get(url(instruction.pk)).status_code == 403
    assert compliance_client.get(url(instruction.pk), HTTP_ACCEPT="application/xml").status_code == 200

    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"][
        "/api/v1/settlements/instructions/{instruction_id}/sese023/"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["application/xml"]
    assert list(operation["responses"]["409"]["content"]) == ["application/json"]


def test_the_dashboard_downloads_the_same_message(client, desk):
    instruction = desk.instruction(symbol="AAPL")
    client.force_login(desk.ops)

    response = client.get(f"/settlements/instructions/{instruction.pk}/sese023/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="sese023-instruction-{instruction.pk}.xml"'
    facts = instruction_export_facts(instruction.pk)
    assert response.content == builder.sese023_build(facts)


def test_the_dashboard_sends_a_refused_export_back_with_the_reasons(client, desk):
    instruction = desk.instruction(symbol="AAPL", ssi=False)
    client.force_login(desk.ops)

    response = client.get(f"/settlements/instructions/{instruction.pk}/sese023/",
                          HTTP_REFERER=f"http://testserver/settlements/fails/?instruction={instruction.pk}")

    assert response.status_code == 302
    assert response["Location"] == f"http://testserver/settlements/fails/?instruction={instruction.pk}"
    messages = [str(message) for message in response.wsgi_request._messages]
    assert messages == [f"Instruction {instruction.pk} cannot be exported as sese.023.001.11: Instruction "
                        f"{instruction.pk} has no standing settlement instruction: the counterparty BRKR-A has none "
                        "for XNAS."]


def test_a_net_obligations_instruction_names_the_obligation_and_its_earliest_trade_date(ops_client, desk):
    with transaction.atomic():
        first = desk.trade("AAPL", "SELL", "100", "189.25")
        second = desk.trade("AAPL", "SELL", "50", "190", trade_date=first.trade_date)

    job = job_create(kind="clearing-netting", params={"settlement_date": first.settlement_date.isoformat(),
                                                      "instrument_bounds": []})
    run = ClearingRun.objects.create(settlement_date=first.settlement_date, job=job)
    obligation = Obligation.objects.create(
        run=run, account=first.account, counterparty=first.counterparty, instrument=first.instrument,
        settlement_date=first.settlement_date, currency="USD", net_quantity=Decimal("-150"),
        net_cash=Decimal("28425"), trade_count=2, buy_quantity=0, sell_quantity=Decimal("150"), buy_value=0,
        sell_value=Decimal("28425"), created_at=timezone.now())
    NettedTrade.objects.bulk_create([NettedTrade(trade=first, obligation=obligation),
                                     NettedTrade(trade=second, obligation=obligation)])
    instruction = SettlementInstruction.objects.create(
        obligation=obligation, account=first.account, counterparty=first.counterparty, instrument=first.instrument,
        settlement_date=first.settlement_date, direction="DELIVER", payment="APMT", quantity=Decimal("150"),
        cash_amount=Decimal("28425"), currency="USD", allow_partial=True, ssi=desk.ssi("BRKR-A", "XNAS"),
        created_at=timezone.now(), updated_at=timezone.now())

    doc = parsed(ops_client.get(url(instruction.pk)))

    tx = "/s:Document/s:SctiesSttlmTxInstr/"
    assert (value(doc, tx + "s:TradDtls/s:TradId"), value(doc, tx + "s:TradDtls/s:TradDt/s:Dt/s:Dt"),
            value(doc, tx + "s:QtyAndAcctDtls/s:SttlmQty/s:Qty/s:Unit"), value(doc, tx + "s:SttlmAmt/s:Amt")) == (
        f"OBL{obligation.pk}", "2026-11-20", "150", "28425.00")
    if XSD.is_file():
        assert schema().validate(doc)
