# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""Standing settlement instructions (settlements/instructions/services/ssis.py, kinds.py): reference data under
maker-checker. A proposal changes nothing; its approval by another operations user creates or changes the SSI and
releases the held instructions it covers. BICs are checked; refused proposals change nothing.
"""

from datetime import date

import pytest
from django.db import transaction

from backoffice.core.exceptions import BusinessRuleError, ConflictError, ForbiddenError
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.audit.services.audit import snapshot
from settlements.instructions.kinds import SSI_CHANGE
from settlements.instructions.services import ssis
from settlements.models import SettlementInstruction, StandingSettlementInstruction
from tests.conftest import make_user
from tests.settlements.helpers_instructions import (
    AGENT,
    DTC,
    add_ssi,
    firm,  # noqa: F401
    instruction,
    net,
    ops_pair,  # noqa: F401
)

pytestmark = pytest.mark.django_db

NEW = {"counterparty": "BRKR-B", "market": "XNAS", "depository_bic": "dtcyus33", "place_of_settlement_bic": DTC,
       "agent_bic": AGENT, "safekeeping_account": "BRKRB-DTC-0042", "effective_from": "2026-11-01"}


def propose(user, payload, reason="new SSI from the broker's letter of 2026-10-30") -> ChangeRequest:
    with transaction.atomic():
        return approvals.change_propose(actor=user, kind=SSI_CHANGE, payload=payload, reason=reason)


def approve(user, change) -> ChangeRequest:
    with transaction.atomic():
        return approvals.change_approve(actor=user, change_id=change.pk, reason="checked against the letter")


def test_a_proposed_ssi_exists_only_once_another_operations_user_approves_it(firm, ops_pair):
    maker, checker = ops_pair
    change = propose(maker, NEW)
    assert (change.status, change.target_type, change.target_id, change.before) == (
        "PENDING", "settlements.standingsettlementinstruction", "BRKR-B/XNAS/2026-11-01", None)
    assert change.payload == {**NEW, "depository_bic": "DTCYUS33", "effective_to": None}
    assert change.summary == ("New SSI of BRKR-B in XNAS: depository DTCYUS33, agent CITIUS33, account BRKRB-DTC-0042, "
                              "from 2026-11-01")
    assert not StandingSettlementInstruction.objects.exists()

    with pytest.raises(ForbiddenError), transaction.atomic():
        approvals.change_approve(actor=maker, change_id=change.pk)
    approved = approve(checker, change)

    ssi = StandingSettlementInstruction.objects.get()
    assert approved.status == "APPROVED"
    assert approved.result == {"ssi": ssi.pk, "after": {"id": ssi.pk, **change.payload}, "instructions_still_held": 0}
    assert (ssi.counterparty.code, ssi.market.mic, ssi.depository_bic, ssi.agent_bic, ssi.effective_from,
            ssi.effective_to) == ("BRKR-B", "XNAS", DTC, AGENT, date(2026, 11, 1), None)
    record = AuditRecord.objects.get(record_type="settlements.standingsettlementinstruction")
    assert (record.action, record.actor_label, record.after) == ("CREATE", "checker-ops", snapshot(ssi))
    assert record.reason == f"change request #{change.pk}: new SSI from the broker's letter of 2026-10-30"


def test_approving_an_ssi_releases_the_held_instructions_it_covers(firm, ops_pair):
    maker, checker = ops_pair
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("ACC-001", "BRKR-B", "SAP", "BUY", "1", "100"))
    net()
    from tests.settlements.helpers_instructions import SETTLES_EU

    net(SETTLES_EU)
    change = propose(maker, NEW)
    assert set(SettlementInstruction.objects.values_list("status", flat=True)) == {"HELD"}  # proposing changes nothing

    approve(checker, change)

    us, eu = instruction(instrument__symbol="AAPL"), instruction(instrument__symbol="SAP")
    assert (us.status, us.ssi.safekeeping_account, us.hold_reason) == ("PENDING", "BRKRB-DTC-0042", "")
    assert (eu.status, eu.hold_reason) == ("HELD", "no standing settlement instruction for BRKR-B in XETR")
    assert ChangeRequest.objects.get().result["instructions_still_held"] == 1


def test_a_change_to_an_ssi_keeps_only_what_differs_and_shows_the_diff(firm, ops_pair):
    maker, checker = ops_pair
    ssi = add_ssi("BRKR-B")
    change = propose(maker, {"id": ssi.pk, "changes": {"agent_bic": AGENT, "safekeeping_account": "NEW-ACCOUNT",
                                                       "effective_to": "2027-06-30"}})
    assert change.payload == {"id": ssi.pk, "changes": {"safekeeping_account": "NEW-ACCOUNT",
                                                        "effective_to": "2027-06-30"}}
    assert change.before["safekeeping_account"] == "SAFE-1"
    assert change.summary == (f"Change SSI #{ssi.pk} of BRKR-B in XNAS: safekeeping_account NEW-ACCOUNT, "
                              "effective_to 2027-06-30")
    approve(checker, change)
    ssi.refresh_from_db()
    assert (ssi.safekeeping_account, ssi.effective_to) == ("NEW-ACCOUNT", date(2027, 6, 30))


def test_a_change_over_fields_changed_since_it_was_proposed_fails_and_changes_nothing(firm, ops_pair):
    maker, checker = ops_pair
    ssi = add_ssi("BRKR-B")
    change = propose(maker, {"id": ssi.pk, "changes": {"safekeeping_account": "MAKER"}})
    with transaction.atomic():
        ssis.ssi_update(actor="test", ssi_id=ssi.pk, changes={"safekeeping_account": "SOMEONE-ELSE"})
    decided = approve(checker, change)
    assert decided.status == "FAILED" and "changed after this change was proposed" in decided.result["error"]
    ssi.refresh_from_db()
    assert ssi.safekeeping_account == "SOMEONE-ELSE"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("depository_bic", "DTCYUS3", "Not a valid BIC"),
    ("agent_bic", "CITIZZ33", "Not a valid BIC"),  # ZZ is no country
    ("place_of_settlement_bic", "", "may not be blank"),
    ("place_of_settlement_bic", 12345678, "Not a valid string"),
    ("safekeeping_account", "x" * 36, "no more than 35 characters"),
    ("effective_from", "01/11/2026", "YYYY-MM-DD"),
    ("effective_to", "2026-10-31", "before the effective-from date"),
    ("counterparty", "NOBODY", "Unknown counterparty"),
    ("market", "XXXX", "Unknown market"),
    ("colour", "blue", "Unknown field"),
])
def test_a_proposal_with_a_bad_field_is_refused_on_that_field(firm, ops_pair, field, value, message):
    with pytest.raises(BusinessRuleError) as refused:
        propose(ops_pair[0], {**NEW, field: value})
    assert refused.value.field == field and message in refused.value.message
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("missing", ["depository_bic", "agent_bic", "safekeeping_account", "effective_from",
                                     "counterparty"])
def test_a_new_ssi_needs_every_field_but_its_end(firm, ops_pair, missing):
    payload = {name: value for name, value in NEW.items() if name != missing}
    with pytest.raises(BusinessRuleError) as refused:
        propose(ops_pair[0], payload)
    assert refused.value.field == missing


def test_a_change_that_changes_nothing_or_names_a_fixed_field_is_refused(firm, ops_pair):
    ssi = add_ssi("BRKR-B")
    with pytest.raises(BusinessRuleError, match="changes nothing"):
        propose(ops_pair[0], {"id": ssi.pk, "changes": {"depository_bic": "dtcyus33"}})
    with pytest.raises(BusinessRuleError) as refused:
        propose(ops_pair[0], {"id": ssi.pk, "changes": {"market": "XETR"}})
    assert refused.value.field == "market"
    with pytest.raises(BusinessRuleError) as refused:
        propose(ops_pair[0], {"id": 999_999, "changes": {"agent_bic": AGENT}})
    assert refused.value.field == "id"


def test_a_second_ssi_for_the_same_counterparty_market_and_start_is_a_conflict(firm, ops_pair):
    add_ssi("BRKR-B", effective_from=date(2026, 11, 1))
    with pytest.raises(ConflictError, match="already has a standing settlement instruction for XNAS"):
        propose(ops_pair[0], NEW)
    add_ssi("BRKR-B", None, effective_from=date(2026, 11, 1))
    with pytest.raises(ConflictError, match="for any market"), transaction.atomic():
        add_ssi("BRKR-B", None, effective_from=date(2026, 11, 1))


def test_two_proposals_for_the_same_ssi_cannot_wait_at_once(firm, ops_pair):
    propose(ops_pair[0], NEW)
    with pytest.raises(ConflictError, match="already awaiting approval"):
        propose(ops_pair[0], {**NEW, "safekeeping_account": "OTHER"})


def test_only_operations_proposes_and_approves_ssis(firm, ops_pair):
    trader, accountant = make_user("trader", "front_office"), make_user("accountant", "accounting")
    for outsider in (trader, accountant):
        with pytest.raises(ForbiddenError):
            propose(outsider, NEW)
    change = propose(ops_pair[0], NEW)
    with pytest.raises(ForbiddenError):
        approve(accountant, change)
    assert ChangeRequest.objects.get().status == "PENDING" and not StandingSettlementInstruction.objects.exists()


def test_the_services_check_bics_themselves_and_upper_case_them(firm):
    ssi = add_ssi("BRKR-B", depository="dakvdeff")
    assert ssi.depository_bic == "DAKVDEFF"
    with pytest.raises(BusinessRuleError) as refused, transaction.atomic():
        ssis.ssi_update(actor="test", ssi_id=ssi.pk, changes={"agent_bic": "NOT A BIC"})
    assert refused.value.field == "agent_bic"
    with pytest.raises(BusinessRuleError) as refused, transaction.atomic():
        ssis.ssi_update(actor="test", ssi_id=ssi.pk, changes={"counterparty": "BRKR-C"})
    assert refused.value.field == "counterparty"
    with transaction.atomic():
        same = ssis.ssi_update(actor="test", ssi_id=ssi.pk, changes={"agent_bic": "citius33"})
    assert same.agent_bic == "CITIUS33"
    assert not AuditRecord.objects.filter(record_type="settlements.standingsettlementinstruction",
                                          action="UPDATE").exists()
