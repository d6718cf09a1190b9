"""The pending approvals page: what the user may decide, with its diff; deciding through it; their own proposals."""

from decimal import Decimal

import lxml.html
import pytest

from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.cash.models import CashBalance
from records.reference.models import Account
from tests.conftest import make_user
from tests.pages import nav_links, table_rows

pytestmark = pytest.mark.django_db

URL = "/records/approvals/"


@pytest.fixture
def maker(db):
    return make_user("maker", "operations")


@pytest.fixture
def checker_web(client, operator):
    """The dashboard signed in as an operations user who did not propose the changes."""
    client.force_login(operator)
    return client


@pytest.fixture
def proposals(book, maker):
    account_change = approvals.change_propose(
        actor=maker, kind="account.update", reason="client moved to a smaller facility",
        payload={"code": "ACC-001", "changes": {"credit_limit": "250", "status": "SUSPENDED"}})
    adjustment = approvals.change_propose(
        actor=maker, kind="cash.adjustment", reason="bank charge booked twice",
        payload={"account": "HOUSE", "currency": "USD", "amount": "-100.25", "reference": "ADJ-PAGE-1"})
    return {"account": account_change, "cash": adjustment}


def cards(response) -> dict[int, lxml.html.HtmlElement]:
    assert response.status_code == 200
    doc = lxml.html.fromstring(response.content.decode())
    found = doc.xpath('//section[contains(@class, "change-card")]')
    return {int(el.get("id").removeprefix("change-")): el for el in found}


def diff(card) -> list[list[str]]:
    return [[" ".join(td.text_content().split()) for td in tr.xpath("./td")] for tr in card.xpath(".//table//tbody/tr")]


def test_the_page_lists_what_the_user_may_decide_with_a_before_and_after_diff(checker_web, proposals):
    response = checker_web.get(URL)

    found = cards(response)
    assert list(found) == [proposals["account"].pk, proposals["cash"].pk]  # oldest first
    account_card = found[proposals["account"].pk]
    assert "proposed by maker" in " ".join(account_card.text_content().split())
    assert "client moved to a smaller facility" in account_card.text_content()
    assert diff(account_card) == [["status", "ACTIVE", "SUSPENDED"], ["credit limit", "1,000", "250"]]
    # The house had 5,000,000 - 1,000.25 in USD.
    assert diff(found[proposals["cash"].pk]) == [["amount", "—", "-100.25"],
                                                 ["balance", "4,998,999.75", "4,998,899.5"],
                                                 ["available", "4,998,999.75", "4,998,899.5"]]
    forms = account_card.xpath(".//form")
    assert [f.get("action") for f in forms] == [f"{URL}{proposals['account'].pk}/approve/",
                                                f"{URL}{proposals['account'].pk}/reject/"]
    assert all(f.xpath('.//input[@name="csrfmiddlewaretoken"]') for f in forms)
    assert forms[1].xpath('.//input[@name="reason"]')[0].get("required") is not None


def test_the_proposer_sees_their_changes_only_under_my_proposals(client, maker, proposals):
    client.force_login(maker)

    assert cards(client.get(URL)) == {}
    rows = table_rows(client.get(URL + "?tab=mine"), "my-proposals")

    assert [row[0] for row in rows] == [str(proposals["cash"].pk), str(proposals["account"].pk)]  # newest first
    assert [row[3] for row in rows] == ["Pending", "Pending"]


def test_a_user_whose_roles_cover_no_kind_sees_nothing_to_decide(client, proposals):
    client.force_login(make_user("trader", "front_office"))
    assert cards(client.get(URL)) == {}


def test_approving_through_the_page_applies_the_change(checker_web, operator, proposals):
    change = proposals["account"]

    response = checker_web.post(f"{URL}{change.pk}/approve/", {"reason": "agreed with risk", "tab": "decide"},
                                follow=True)

    assert response.redirect_chain[-1][0] == f"{URL}?tab=decide"
    assert f"Change #{change.pk} approved and applied" in response.content.decode()
    account = Account.objects.get(code="ACC-001")
    assert (account.status, account.credit_limit) == ("SUSPENDED", Decimal("250"))
    stored = ChangeRequest.objects.get(pk=change.pk)
    assert (stored.status, stored.decided_by, stored.decision_reason) == ("APPROVED", operator, "agreed with risk")
    assert change.pk not in cards(response)


def test_rejecting_through_the_page_needs_a_reason(checker_web, proposals):
    change = proposals["cash"]

    refused = checker_web.post(f"{URL}{change.pk}/reject/", {"reason": ""}, follow=True)
    assert "A reason is required." in refused.content.decode()
    assert ChangeRequest.objects.get(pk=change.pk).status == "PENDING"

    checker_web.post(f"{URL}{change.pk}/reject/", {"reason": "not on the statement"})

    stored = ChangeRequest.objects.get(pk=change.pk)
    assert (stored.status, stored.decision_reason) == ("REJECTED", "not on the statement")
    assert CashBalance.objects.get(account__code="HOUSE", currency="USD").balance == Decimal("4998999.75")


def test_the_proposer_cannot_approve_through_the_page(client, maker, proposals):
    client.force_login(maker)
    change = proposals["account"]

    response = client.post(f"{URL}{change.pk}/approve/", follow=True)

    assert "another user must approve it" in response.content.decode()
    assert ChangeRequest.objects.get(pk=change.pk).status == "PENDING"
    assert Account.objects.get(code="ACC-001").status == "ACTIVE"


def test_the_proposer_may_withdraw_from_my_proposals(client, maker, proposals):
    client.force_login(maker)
    change = proposals["cash"]

    response = client.post(f"{URL}{change.pk}/withdraw/", {"tab": "mine"}, follow=True)

    assert response.redirect_chain[-1][0] == f"{URL}?tab=mine"
    rows = {row[0]: row for row in table_rows(response, "my-proposals")}
    assert rows[str(change.pk)][3] == "Withdrawn"


def test_decisions_are_posts_only(checker_web, proposals):
    assert checker_web.get(f"{URL}{proposals['account'].pk}/approve/").status_code == 405
    assert ChangeRequest.objects.get(pk=proposals["account"].pk).status == "PENDING"


def test_the_page_is_in_the_navigation(checker_web, proposals):
    links = nav_links(checker_web.get(URL))
    assert ("Pending approvals", URL, True) in links
