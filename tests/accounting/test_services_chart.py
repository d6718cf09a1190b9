"""The chart of accounts under maker-checker: new accounts and changes, and the rules they must keep."""

from datetime import date

import pytest

from accounting.chart.kinds import GLACCOUNT_CHANGE
from accounting.chart.selectors import chart_tree
from accounting.models import GLAccount
from backoffice.core.exceptions import BusinessRuleError, ForbiddenError
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from tests.accounting.factories import post_entry
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def maker(db):
    return make_user("maker", "accounting")


@pytest.fixture
def checker(db):
    return make_user("checker", "accounting")


def propose(maker, payload):
    return approvals.change_propose(actor=maker, kind=GLACCOUNT_CHANGE, payload=payload, reason="chart review")


def chart():
    return list(GLAccount.objects.order_by("code").values_list("code", "name", "type", "parent__code", "role",
                                                               "is_active", "is_monetary"))


def test_a_new_account_is_added_only_when_another_accounting_user_approves_it(maker, checker):
    before = chart()
    change = propose(maker, {"code": "5300", "name": "Exchange fees", "type": "EXPENSE", "parent": "5000"})
    assert chart() == before and change.target_id == "5300"
    with pytest.raises(ForbiddenError):
        approvals.change_approve(actor=maker, change_id=change.pk)
    with pytest.raises(ForbiddenError):
        approvals.change_approve(actor=make_user("ops", "operations"), change_id=change.pk)
    assert chart() == before

    change = approvals.change_approve(actor=checker, change_id=change.pk)

    assert change.status == ChangeRequest.Status.APPROVED, change.result
    account = GLAccount.objects.get(code="5300")
    assert (account.name, account.type, account.parent.code, account.role, account.is_active, account.is_monetary) == (
        "Exchange fees", "EXPENSE", "5000", None, True, True)
    assert AuditRecord.objects.filter(record_type="accounting.glaccount", record_id=str(account.pk), action="CREATE",
                                      actor=checker).exists()


def test_a_change_renames_and_moves_an_account_under_a_parent_of_its_type(maker, checker):
    propose_and_approve(maker, checker, {"code": "5900", "name": "Other expenses", "type": "EXPENSE", "parent": "5000"})
    change = propose(maker, {"code": "5200", "changes": {"name": "CSDR penalties", "parent": "5900",
                                                          "is_monetary": False}})
    assert change.before["name"] == "Fail penalty expense"
    approvals.change_approve(actor=checker, change_id=change.pk)
    account = GLAccount.objects.get(code="5200")
    assert (account.name, account.parent.code, account.is_monetary) == ("CSDR penalties", "5900", False)
    audit = AuditRecord.objects.get(record_type="accounting.glaccount", record_id=str(account.pk), action="UPDATE")
    assert audit.before["name"] == "Fail penalty expense" and audit.after["name"] == "CSDR penalties"


def propose_and_approve(maker, checker, payload):
    change = approvals.change_approve(actor=checker, change_id=propose(maker, payload).pk)
    assert change.status == ChangeRequest.Status.APPROVED, change.result
    return change


@pytest.mark.parametrize("payload, field, message", [
    ({"code": "1100", "name": "x", "type": "ASSET"}, "code", "GL account 1100 already exists."),
    ({"code": "9 9", "name": "x", "type": "ASSET"}, "code", "A GL account code"),
    ({"code": "5300", "name": "x", "type": "COST"}, "type", "'COST' is not a valid choice"),
    ({"code": "5300", "name": "x", "type": "EXPENSE", "parent": "9999"}, "parent", "Unknown GL account '9999'."),
    ({"code": "5300", "name": "x", "type": "EXPENSE", "parent": "1000"}, "parent", "1000 is a asset account"),
    ({"code": "5300", "name": "x", "type": "EXPENSE", "role": "BONUSES"}, "role", "'BONUSES' is not a role"),
    ({"code": "5300", "name": "x", "type": "ASSET", "role": "CASH"}, "role", "1100 Cash at banks and depositories "
                                                                             "already has the role CASH."),
    ({"code": "5300", "type": "EXPENSE"}, "name", "This field is required."),
    ({"code": "5300", "name": "x", "type": "EXPENSE", "colour": "red"}, "colour", "Unknown field"),
])
def test_a_new_account_breaking_a_rule_is_refused_at_its_field(maker, payload, field, message):
    before = chart()
    with pytest.raises(BusinessRuleError) as caught:
        propose(maker, payload)
    assert caught.value.field == field and message in caught.value.message
    assert chart() == before and ChangeRequest.objects.count() == 0


def test_a_parent_loop_is_refused(maker, checker):
    propose_and_approve(maker, checker, {"code": "5900", "name": "Other", "type": "EXPENSE", "parent": "5000"})
    with pytest.raises(BusinessRuleError, match="would loop") as caught:
        propose(maker, {"code": "5000", "changes": {"parent": "5900"}})
    assert caught.value.field == "parent"
    with pytest.raises(BusinessRuleError, match="would loop"):
        propose(maker, {"code": "5000", "changes": {"parent": "5000"}})


def test_a_role_changes_only_on_an_account_without_lines(maker, checker):
    propose_and_approve(maker, checker, {"code": "2900", "name": "Spare", "type": "LIABILITY", "parent": "2000"})
    post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=date(2026, 11, 16))
    with pytest.raises(BusinessRuleError, match="has journal lines") as caught:
        propose(maker, {"code": "1100", "changes": {"role": None}})
    assert caught.value.field == "role"
    with pytest.raises(BusinessRuleError, match="must keep that role"):
        propose(maker, {"code": "2150", "changes": {"role": None}})  # no lines, but the rules post to it
    with pytest.raises(BusinessRuleError, match="stays active"):
        propose(maker, {"code": "2150", "changes": {"is_active": False}})


def test_a_change_that_changes_nothing_is_refused(maker):
    with pytest.raises(BusinessRuleError, match="changes nothing"):
        propose(maker, {"code": "1100", "changes": {"name": "Cash at banks and depositories"}})


def test_the_tree_nests_accounts_under_their_parents_with_balances():
    post_entry(lines=[("CASH", "100"), ("ACCOUNT_FUNDS", "-100")], entry_date=date(2026, 11, 16))
    post_entry(lines=[("RECEIVABLE_SALES", "40"), ("CASH", "-40")], entry_date=date(2026, 11, 16))
    rows = {row.account.code: row for row in chart_tree()}
    assert [row.account.code for row in chart_tree()][:3] == ["1000", "1100", "1200"]
    assert (rows["1000"].depth, rows["1100"].depth) == (0, 1)
    assert (rows["1100"].lines, rows["1100"].balance) == (2, 60)
    assert (rows["1000"].balance, rows["1000"].subtree_balance) == (0, 100)
    assert rows["2000"].subtree_balance == -100
