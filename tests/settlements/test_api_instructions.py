# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The instructions and SSI API (API.md "Settlements"): the list with exactly its fields and filters, an instruction,
allow-partial and a counterparty's failure (409 once settled, 400 for bad input, never 500), SSIs proposed under
maker-checker (202), roles.
"""

import pytest

from records.approvals.models import ChangeRequest
from settlements.models import SettlementInstruction, StandingSettlementInstruction
from tests.conftest import client_for, make_user
from tests.settlements.helpers_instructions import (
    AGENT,
    DTC,
    SETTLES,
    SETTLES_EU,
    add_ssi,
    firm,  # noqa: F401
    instruction,
    net,
)

pytestmark = pytest.mark.django_db
LIST = "/api/v1/settlements/instructions/"
SSIS = "/api/v1/settlements/ssis/"
API_MD_FIELDS = {"id", "account", "counterparty", "instrument", "settlement_date", "direction", "quantity",
                 "cash_amount", "currency", "settled_quantity", "settled_cash", "status", "allow_partial"}
EXTRAS = {"payment", "ssi", "hold_reason", "obligation", "trade", "counterparty_failed_at",
          "counterparty_fail_reason", "created_at", "updated_at", "settled_at"}


@pytest.fixture
def desk(firm):
    """Three instructions: ACC-001 receives 70 AAPL (pays 13,222 USD), HOUSE delivers 20 MSFT, ACC-001 receives SAP
    (held: BRKR-B has no SSI in XETR)."""
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
              ("ACC-001", "BRKR-B", "AAPL", "SELL", "30", "190.10"),
              ("HOUSE", "BRKR-B", "MSFT", "SELL", "20", "415.10"), ("ACC-001", "BRKR-B", "SAP", "BUY", "2", "187.36"))
    net()
    net(SETTLES_EU)
    return firm


@pytest.fixture
def ops(desk):
    return client_for(desk.ops)


def test_the_list_has_exactly_the_fields_of_api_md_and_the_extras(desk, ops):
    body = ops.get(LIST).json()
    assert body["count"] == 3
    aapl = next(row for row in body["results"] if row["instrument"] == "US0378331005")
    assert set(aapl) == API_MD_FIELDS | EXTRAS
    i = instruction(instrument__symbol="AAPL")
    assert {name: aapl[name] for name in API_MD_FIELDS | {"payment", "hold_reason", "obligation", "trade"}} == {
        "id": i.pk, "account": "ACC-001", "counterparty": "BRKR-B", "instrument": "US0378331005",
        "settlement_date": SETTLES.isoformat(), "direction": "RECEIVE", "quantity": "70", "cash_amount": "-13222.00",
        "currency": "USD", "settled_quantity": "0", "settled_cash": "0.00", "status": "PENDING",
        "allow_partial": True, "payment": "APMT", "hold_reason": "", "obligation": i.obligation_id, "trade": None}
    assert aapl["ssi"] == {
        "id": i.ssi_id, "counterparty": "BRKR-B", "market": "XNAS", "depository_bic": DTC,
        "place_of_settlement_bic": DTC, "agent_bic": AGENT, "safekeeping_account": "SAFE-1",
        "effective_from": "2026-01-01", "effective_to": None, "created_at": aapl["ssi"]["created_at"],
        "updated_at": aapl["ssi"]["updated_at"]}
    sap = next(row for row in body["results"] if row["instrument"] == "DE0007164600")
    assert (sap["status"], sap["ssi"], sap["hold_reason"], sap["cash_amount"]) == (
        "HELD", None, "no standing settlement instruction for BRKR-B in XETR", "-374.72")


@pytest.mark.parametrize(("query", "symbols"), [
    (f"settlement_date={SETTLES.isoformat()}", {"AAPL", "MSFT"}),
    ("status=HELD", {"SAP"}),
    ("account=HOUSE", {"MSFT"}),
    ("counterparty=BRKR-B", {"AAPL", "MSFT", "SAP"}),
    ("counterparty=NSCC", set()),
    ("instrument=US5949181045", {"MSFT"}),
    ("direction=DELIVER", {"MSFT"}),
    ("currency=EUR", {"SAP"}),
    ("account=ACC-001&status=PENDING", {"AAPL"}),
])
def test_the_list_filters(desk, ops, query, symbols):
    body = ops.get(f"{LIST}?{query}").json()
    isins = {row["instrument"] for row in body["results"]}
    assert isins == {desk.instruments[s].isin for s in symbols}


@pytest.mark.parametrize("query", ["settlement_date=2026-11-31", "settlement_date=23/11/2026", "status=SETTLING",
                                   "direction=SIDEWAYS", "page_size=x", "status=HELD&status=PENDING"])
def test_a_malformed_filter_is_a_400_naming_it(desk, ops, query):
    response = ops.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_the_detail_adds_the_trades_it_settles_and_an_unknown_one_is_404(desk, ops):
    i = instruction(instrument__symbol="AAPL")
    body = ops.get(f"{LIST}{i.pk}/").json()
    from clearing.models import NettedTrade

    assert body["trades"] == sorted(NettedTrade.objects.filter(obligation_id=i.obligation_id)
                                    .values_list("trade_id", flat=True))
    assert len(body["trades"]) == 2
    assert ops.get(f"{LIST}999999/").status_code == 404


def test_patch_allow_partial_takes_effect_at_once(desk, ops):
    i = instruction(instrument__symbol="AAPL")
    response = ops.patch(f"{LIST}{i.pk}/", {"allow_partial": False, "reason": "client asked"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["allow_partial"] is False
    assert SettlementInstruction.objects.get(pk=i.pk).allow_partial is False


@pytest.mark.parametrize("status", ["SETTLED", "PARTIAL", "CANCELLED"])
def test_patch_once_settled_or_cancelled_is_409_and_changes_nothing(desk, ops, status):
    i = instruction(instrument__symbol="AAPL")
    SettlementInstruction.objects.filter(pk=i.pk).update(status=status)
    response = ops.patch(f"{LIST}{i.pk}/", {"allow_partial": False}, format="json")
    assert response.status_code == 409 and "allow-partial" in response.json()["detail"]
    assert SettlementInstruction.objects.get(pk=i.pk).allow_partial is True


@pytest.mark.parametrize("body", [{}, {"allow_partial": "no"}, {"allow_partial": None}, {"allow_partial": 0},
                                  {"allow_partial": False, "status": "SETTLED"}, [], {"allow_partial": [True]}])
def test_patch_with_bad_input_is_a_400(desk, ops, body):
    i = instruction(instrument__symbol="AAPL")
    response = ops.patch(f"{LIST}{i.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert SettlementInstruction.objects.get(pk=i.pk).allow_partial is True


@pytest.mark.parametrize("raw", ["", "{", "null", "1e999", '"x"', '{"allow_partial": true' + "}" * 3])
def test_patch_and_counterparty_fail_never_answer_500_to_a_broken_body(desk, ops, raw):
    i = instruction(instrument__symbol="AAPL")
    for method, url in (("patch", f"{LIST}{i.pk}/"), ("post", f"{LIST}{i.pk}/counterparty-fail/")):
        response = getattr(ops, method)(url, data=raw, content_type="application/json")
        assert response.status_code == 400, (method, raw, response.content)


def test_counterparty_fail_records_the_reason(desk, ops):
    i = instruction(instrument__symbol="AAPL")
    response = ops.post(f"{LIST}{i.pk}/counterparty-fail/", {"reason": "no securities at their agent"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["counterparty_fail_reason"] == "no securities at their agent"
    assert body["counterparty_failed_at"] is not None and body["status"] == "PENDING"


@pytest.mark.parametrize("status", ["SETTLED", "CANCELLED"])
def test_counterparty_fail_on_a_settled_or_cancelled_instruction_is_409(desk, ops, status):
    i = instruction(instrument__symbol="AAPL")
    SettlementInstruction.objects.filter(pk=i.pk).update(status=status)
    response = ops.post(f"{LIST}{i.pk}/counterparty-fail/", {"reason": "late"}, format="json")
    assert response.status_code == 409
    assert SettlementInstruction.objects.get(pk=i.pk).counterparty_failed_at is None


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}, {"reason": 5}, {"reason": "x" * 201},
                                  {"reason": "late", "extra": 1}])
def test_counterparty_fail_needs_a_reason(desk, ops, body):
    i = instruction(instrument__symbol="AAPL")
    response = ops.post(f"{LIST}{i.pk}/counterparty-fail/", body, format="json")
    assert response.status_code == 400, response.content
    assert SettlementInstruction.objects.get(pk=i.pk).counterparty_failed_at is None


def test_operations_writes_compliance_and_accounting_read_front_office_neither(desk, ops, anon_client):
    i = instruction(instrument__symbol="AAPL")
    for role in ("compliance", "accounting"):
        reader = client_for(make_user(f"reader-{role}", role))
        assert reader.get(LIST).status_code == 200
        assert reader.get(f"{LIST}{i.pk}/").status_code == 200
        assert reader.patch(f"{LIST}{i.pk}/", {"allow_partial": False}, format="json").status_code == 403
        assert reader.post(f"{LIST}{i.pk}/counterparty-fail/", {"reason": "x"}, format="json").status_code == 403
    trader = client_for(make_user("trader", "front_office"))
    assert trader.get(LIST).status_code == 403
    assert anon_client.get(LIST).status_code == 401
    assert SettlementInstruction.objects.get(pk=i.pk).allow_partial is True


# --- standing settlement instructions ---

NEW = {"counterparty": "BRKR-B", "market": "XETR", "depository_bic": "DAKVDEFF", "place_of_settlement_bic": "DAKVDEFF",
       "agent_bic": "DEUTDEFF", "safekeeping_account": "BRKRB-CBF-7", "effective_from": "2026-11-01"}


def test_ssis_are_listed_and_filtered_for_every_role(desk):
    add_ssi("BRKR-B", None, account="DEFAULT")
    add_ssi("NSCC", "XNAS", effective_from=SETTLES.replace(month=12))
    trader = client_for(make_user("trader", "front_office"))
    body = trader.get(SSIS).json()
    assert [(r["counterparty"], r["market"], r["safekeeping_account"]) for r in body["results"]] == [
        ("BRKR-B", "XNAS", "SAFE-1"), ("BRKR-B", None, "DEFAULT"), ("NSCC", "XNAS", "SAFE-1")]
    assert trader.get(f"{SSIS}?counterparty=NSCC").json()["count"] == 1
    assert trader.get(f"{SSIS}?market=XNAS").json()["count"] == 2
    assert trader.get(f"{SSIS}?active_on={SETTLES.isoformat()}").json()["count"] == 2
    assert trader.get(f"{SSIS}?active_on=tomorrow").status_code == 400
    ssi = StandingSettlementInstruction.objects.get(counterparty__code="NSCC")
    assert trader.get(f"{SSIS}{ssi.pk}/").json()["effective_from"] == "2026-12-23"
    assert trader.get(f"{SSIS}999999/").status_code == 404


def test_posting_an_ssi_proposes_it_and_its_approval_releases_the_held_instruction(desk, ops):
    response = ops.post(SSIS, {**NEW, "reason": "letter of 2026-10-30"}, format="json")
    assert response.status_code == 202, response.content
    change = response.json()
    assert (change["kind"], change["status"], change["target_type"], change["before"]) == (
        "ssi.change", "PENDING", "settlements.standingsettlementinstruction", None)
    assert change["payload"] == {**NEW, "effective_to": None}
    assert not StandingSettlementInstruction.objects.filter(market__mic="XETR").exists()

    assert ops.post(f"/api/v1/approvals/{change['id']}/approve/", {}, format="json").status_code == 403
    checker = client_for(make_user("checker", "operations"))
    approved = checker.post(f"/api/v1/approvals/{change['id']}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "APPROVED"
    held = instruction(instrument__symbol="SAP")
    assert (held.status, held.ssi.safekeeping_account) == ("PENDING", "BRKRB-CBF-7")


def test_patching_an_ssi_proposes_the_change(desk, ops):
    ssi = StandingSettlementInstruction.objects.get()
    response = ops.patch(f"{SSIS}{ssi.pk}/", {"agent_bic": "chasus33", "effective_to": "2027-12-31"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["payload"] == {"id": ssi.pk, "changes": {"agent_bic": "CHASUS33",
                                                                    "effective_to": "2027-12-31"}}
    assert response.json()["before"]["agent_bic"] == AGENT
    assert ops.patch(f"{SSIS}{ssi.pk}/", {"safekeeping_account": "X"}, format="json").status_code == 409  # pending


@pytest.mark.parametrize(("body", "field"), [
    ({**NEW, "depository_bic": "DAKVDEF"}, "depository_bic"),
    ({**NEW, "agent_bic": 12345678}, "agent_bic"),
    ({**NEW, "counterparty": "NOBODY"}, "counterparty"),
    ({**NEW, "market": "ZZZZ"}, "market"),
    ({**NEW, "effective_from": "2026-13-01"}, "effective_from"),
    ({**NEW, "effective_to": "2026-10-01"}, "effective_to"),
    ({**NEW, "colour": "blue"}, "colour"),
    ({key: value for key, value in NEW.items() if key != "safekeeping_account"}, "safekeeping_account"),
])
def test_a_bad_ssi_is_a_400_on_its_field_and_proposes_nothing(desk, ops, body, field):
    response = ops.post(SSIS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ChangeRequest.objects.exists()


def test_a_change_that_changes_nothing_is_a_400(desk, ops):
    ssi = StandingSettlementInstruction.objects.get()
    response = ops.patch(f"{SSIS}{ssi.pk}/", {"depository_bic": "dtcyus33"}, format="json")
    assert response.status_code == 400 and response.json() == {"non_field_errors": ["The change changes nothing."]}
    assert ops.patch(f"{SSIS}{ssi.pk}/", {"counterparty": "NSCC"}, format="json").status_code == 400


def test_only_operations_proposes_ssis(desk):
    for role in ("front_office", "compliance", "accounting"):
        client = client_for(make_user(f"u-{role}", role))
        assert client.post(SSIS, NEW, format="json").status_code == 403
    assert not ChangeRequest.objects.exists()


# --- a trade instructed gross ---

def test_posting_a_trade_instructs_it_gross_and_a_repeat_answers_the_same_instruction(desk, ops):
    from records.trades.models import Trade, TradeEvent

    trade_id, = desk.book(("ACC-001", "BRKR-B", "MSFT", "BUY", "5", "415"))  # locked-in: needs no matching

    created = ops.post(LIST, {"trade": trade_id, "reason": "late trade"}, format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert {name: body[name] for name in ("account", "counterparty", "instrument", "direction", "quantity",
                                          "cash_amount", "status", "trade", "obligation", "trades")} == {
        "account": "ACC-001", "counterparty": "BRKR-B", "instrument": "US5949181045", "direction": "RECEIVE",
        "quantity": "5", "cash_amount": "-2075.00", "status": "PENDING", "trade": trade_id, "obligation": None,
        "trades": [trade_id]}
    assert Trade.objects.get(pk=trade_id).status == "CLEARED"
    assert TradeEvent.objects.filter(trade_id=trade_id, action="CLEAR").count() == 1
    again = ops.post(LIST, {"trade": trade_id}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    assert SettlementInstruction.objects.filter(trade_id=trade_id).count() == 1
    assert net().trades_netted == 0  # a trade instructed gross is never netted as well


def test_a_trade_that_cannot_settle_gross_is_a_409_and_nothing_is_written(desk, ops):
    from records.trades.models import Trade

    netted = Trade.objects.filter(instrument__symbol="AAPL").first().pk
    unmatched, = desk.book(("ACC-001", "BRKR-C", "AAPL", "BUY", "5", "190"))  # BRKR-C requires matching
    held, = desk.book(("HOUSE", "BRKR-B", "AAPL", "BUY", "5", "190"), status="HELD")
    before = SettlementInstruction.objects.count()
    for trade_id, says in ((netted, "cleared"), (unmatched, "requires a matched confirmation"), (held, "held")):
        answer = ops.post(LIST, {"trade": trade_id}, format="json")
        assert answer.status_code == 409, answer.json()
        assert says in answer.json()["detail"]
    assert SettlementInstruction.objects.count() == before
    assert Trade.objects.get(pk=unmatched).status == "BOOKED"


@pytest.mark.parametrize(("body", "field"), [
    ({"trade": 999_999_999}, "trade"), ({}, "trade"), ({"trade": "x"}, "trade"), ({"trade": 0}, "trade"),
    ({"trade": True}, "trade"), ({"trade": 1, "extra": 1}, "extra"), ({"trade": 1, "reason": 5}, "reason"),
])
def test_a_bad_gross_instruction_body_is_a_400_on_its_field(desk, ops, body, field):
    answer = ops.post(LIST, body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()


def test_only_operations_instructs_a_trade_gross(desk):
    trade_id, = desk.book(("ACC-001", "BRKR-B", "MSFT", "BUY", "5", "415"))
    for role in ("compliance", "accounting", "front_office"):
        assert client_for(make_user(f"gross-{role}", role)).post(LIST, {"trade": trade_id},
                                                                  format="json").status_code == 403
    assert not SettlementInstruction.objects.filter(trade_id=trade_id).exists()
