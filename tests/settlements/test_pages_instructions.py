# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The settlement queue, an instruction and the standing settlement instructions pages: figures and filters, held
ones with their reason, allow-partial and a counterparty's failure from the page (refusals as messages, never a 500),
SSIs proposed from the page, the admin; who may see and do what.
"""

import lxml.html
import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from records.approvals.models import ChangeRequest
from settlements.models import SettlementInstruction, StandingSettlementInstruction
from tests.conftest import make_user
from tests.pages import nav_links, table_rows
from tests.settlements.helpers_instructions import (
    SETTLES,
    SETTLES_EU,
    add_ssi,
    firm,  # noqa: F401
    instruction,
    net,
)

pytestmark = pytest.mark.django_db
QUEUE = "/settlements/instructions/"
SSIS = "/settlements/ssis/"


@pytest.fixture
def desk(firm):
    """ACC-001 receives 70 AAPL paying 13,222 USD; HOUSE delivers 20 MSFT for 8,302 USD; ACC-001 receives 2 SAP
    paying 374.72 EUR, held (no SSI of BRKR-B in XETR)."""
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
              ("ACC-001", "BRKR-B", "AAPL", "SELL", "30", "190.10"),
              ("HOUSE", "BRKR-B", "MSFT", "SELL", "20", "415.10"), ("ACC-001", "BRKR-B", "SAP", "BUY", "2", "187.36"))
    net()
    net(SETTLES_EU)
    return firm


@pytest.fixture
def clerk(desk):
    client = Client()
    client.force_login(desk.ops)
    return client


def text(response, xpath: str) -> str:
    doc = lxml.html.fromstring(response.content.decode())
    return " ".join(" ".join(el.text_content().split()) for el in doc.xpath(xpath))


def test_the_queue_lists_open_instructions_by_date_with_totals_and_held_reasons(clerk):
    response = clerk.get(QUEUE)
    rows = table_rows(response, "instructions")
    assert [row[1:13] for row in rows] == [
        ["Mon 2026-11-23", "ACC-001", "BRKR-B", "AAPL US0378331005", "Receive", "70", "-13,222.00", "USD", "0", "Yes",
         "Pending", ""],
        ["Mon 2026-11-23", "HOUSE", "BRKR-B", "MSFT US5949181045", "Deliver", "20", "8,302.00", "USD", "0", "Yes",
         "Pending", ""],
        ["Tue 2026-11-24", "ACC-001", "BRKR-B", "SAP DE0007164600", "Receive", "2", "-374.72", "EUR", "0", "Yes",
         "Held", "no standing settlement instruction for BRKR-B in XETR"]]
    assert text(response, '//*[@id="instruction-totals"]') == (
        "3 instructions EUR pay 374.72 · receive 0.00 1 held USD pay 13,222.00 · receive 8,302.00")
    assert table_rows(response, "instructions", section="tfoot") == [
        ["Total, all 3 instructions shown · 1 in EUR", "+2 −0", "+0.00 −374.72", "EUR", "1 held"],
        ["· 2 in USD", "+70 −20", "+8,302.00 −13,222.00", "USD", ""]]
    # Settled and cancelled ones are counted for one settlement date only: they pile up.
    assert text(response, '//*[@id="status-counts"]') == (
        "Open 3 Held 1 Pending 2 Partially settled 0 Failed 0 Settled Cancelled All")
    SettlementInstruction.objects.filter(instrument__symbol="MSFT").update(status="SETTLED")
    dated = clerk.get(f"{QUEUE}?settlement_date={SETTLES.isoformat()}")
    assert text(dated, '//*[@id="status-counts"]') == (
        "Open 1 Held 0 Pending 1 Partially settled 0 Failed 0 Settled 1 Cancelled 0 All 2")
    assert ("Settlement queue", QUEUE, True) in nav_links(response)


@pytest.mark.parametrize(("query", "symbols"), [
    ("status=HELD", ["SAP"]),
    ("status=SETTLED", []),
    ("status=ALL&account=house", ["MSFT"]),
    (f"settlement_date={SETTLES.isoformat()}", ["AAPL", "MSFT"]),
    ("instrument=sap", ["SAP"]),
    ("direction=DELIVER", ["MSFT"]),
    ("currency=eur", ["SAP"]),
    ("counterparty=NSCC", []),
])
def test_the_queue_filters(clerk, query, symbols):
    response = clerk.get(f"{QUEUE}?{query}")
    assert [row[4].split()[0] for row in table_rows(response, "instructions")] == symbols


def test_a_filter_naming_nothing_shows_the_error_and_no_rows(clerk):
    response = clerk.get(f"{QUEUE}?account=NOBODY")
    assert table_rows(response, "instructions") == []
    assert "No account 'NOBODY'." in text(response, '//form[@role="search"]')
    assert "No instructions match these filters." in response.content.decode()


def test_the_empty_queue_says_so_once(firm):
    client = Client()
    client.force_login(firm.ops)
    content = client.get(QUEUE).content.decode()
    assert content.count('class="empty"') == 1 and "Nothing open" in content
    assert "No settlement instructions yet" in client.get(f"{QUEUE}?status=ALL").content.decode()


def test_an_instruction_page_shows_its_terms_ssi_obligation_trades_and_nothing_settled(clerk):
    i = instruction(instrument__symbol="AAPL")
    response = clerk.get(f"{QUEUE}{i.pk}/")
    content = response.content.decode()
    assert f'href="/clearing/obligations/{i.obligation_id}/"' in content
    doc = lxml.html.fromstring(content)
    assert [" ".join(dd.text_content().split()) for dd in doc.xpath('//*[@id="instruction-ssi"]//dd')] == [
        "XNAS", "DTCYUS33", "DTCYUS33", "CITIUS33", "SAFE-1", "from 2026-01-01"]
    assert [row[4:6] for row in table_rows(response, "trades")] == [["Buy", "100"], ["Sell", "30"]]
    assert table_rows(response, "movements") == []
    assert "Nothing settled yet." in content and "It has not failed." in content
    assert "Receive 70 the account receives them" in text(response, '//*[@id="instruction-fields"]//dd')
    try:  # its XML message, once that page exists
        assert f'href="{reverse("settlements:instruction-sese023", args=[i.pk])}"' in content
    except NoReverseMatch:
        assert "sese.023" not in content


def test_a_held_instruction_says_why_and_links_to_a_prefilled_ssi_proposal(clerk):
    i = instruction(instrument__symbol="SAP")
    response = clerk.get(f"{QUEUE}{i.pk}/")
    assert text(response, '//*[@id="hold-banner"]') == (
        "Held: no standing settlement instruction for BRKR-B in XETR. It settles once a standing settlement "
        "instruction of BRKR-B covers it: propose one; another operations user approves it.")
    link = lxml.html.fromstring(response.content.decode()).xpath('//*[@id="hold-banner"]//a/@href')[0]
    form = clerk.get(link)
    doc = lxml.html.fromstring(form.content.decode())
    assert doc.xpath('//form[@id="ssi-form"]//input[@name="counterparty"]/@value') == ["BRKR-B"]
    assert doc.xpath('//form[@id="ssi-form"]//select[@name="market"]/option[@selected]/@value') == ["XETR"]


def test_allow_partial_is_toggled_from_the_page(clerk):
    i = instruction(instrument__symbol="AAPL")
    response = clerk.post(f"{QUEUE}{i.pk}/allow-partial/", {"partial-allow_partial": "no", "partial-reason": "client"},
                          follow=True)
    assert "partial settlement no longer allowed" in response.content.decode()
    assert SettlementInstruction.objects.get(pk=i.pk).allow_partial is False
    assert "Allow partial settlement" in text(response, '//form[@id="allow-partial-form"]//button')


def test_allow_partial_on_a_settled_instruction_is_refused_with_a_message(clerk):
    i = instruction(instrument__symbol="AAPL")
    SettlementInstruction.objects.filter(pk=i.pk).update(status="SETTLED")
    response = clerk.post(f"{QUEUE}{i.pk}/allow-partial/", {"partial-allow_partial": "no"}, follow=True)
    assert response.status_code == 200
    assert "allow-partial can only change before it settles" in response.content.decode()
    assert SettlementInstruction.objects.get(pk=i.pk).allow_partial is True
    doc = lxml.html.fromstring(response.content.decode())
    assert not doc.xpath('//form[@id="allow-partial-form"]') and not doc.xpath('//form[@id="counterparty-fail-form"]')


def test_a_counterparty_failure_is_recorded_from_the_page_and_shown(clerk):
    i = instruction(instrument__symbol="AAPL")
    assert clerk.post(f"{QUEUE}{i.pk}/counterparty-fail/", {"fail-reason": ""}).status_code == 400
    response = clerk.post(f"{QUEUE}{i.pk}/counterparty-fail/", {"fail-reason": "no securities at their agent"},
                          follow=True)
    assert "Counterparty failed (recorded" in text(response, '//*[@id="cpty-fail-banner"]')
    queue = clerk.get(QUEUE)
    assert table_rows(queue, "instructions")[0][12] == "Counterparty failed no securities at their agent"


def test_readers_see_the_pages_without_the_forms_and_cannot_post(desk):
    i = instruction(instrument__symbol="AAPL")
    reader = Client()
    reader.force_login(make_user("auditor", "accounting"))
    page = reader.get(f"{QUEUE}{i.pk}/")
    assert page.status_code == 200 and b"allow-partial-form" not in page.content
    assert reader.post(f"{QUEUE}{i.pk}/allow-partial/", {"partial-allow_partial": "no"}).status_code == 403
    assert reader.post(f"{QUEUE}{i.pk}/counterparty-fail/", {"fail-reason": "x"}).status_code == 403
    assert reader.get(SSIS).status_code == 200 and b'id="ssi-form"' not in reader.get(SSIS).content
    assert reader.post(f"{SSIS}propose/", {}).status_code == 403
    trader = Client()
    trader.force_login(make_user("trader", "front_office"))
    assert trader.get(QUEUE).status_code == 403
    assert Client().get(QUEUE).status_code == 302
    assert clerk_404(desk) == 404


def clerk_404(desk) -> int:
    client = Client()
    client.force_login(desk.ops)
    return client.get(f"{QUEUE}999999/").status_code


def test_the_ssi_page_lists_them_with_their_instructions_and_proposes_a_new_one(clerk):
    response = clerk.get(SSIS)
    assert [row[1:11] for row in table_rows(response, "ssis")] == [
        ["BRKR-B", "XNAS", "DTCYUS33", "DTCYUS33", "CITIUS33", "SAFE-1", "2026-01-01", "—", "In effect", "2 / 2"]]
    assert "1 instruction held without one" in text(response, '//*[@class="page-meta"]')

    proposal = {"counterparty": "BRKR-B", "market": "XETR", "depository_bic": "dakvdeff",
                "place_of_settlement_bic": "DAKVDEFF", "agent_bic": "DEUTDEFF", "safekeeping_account": "CBF-7",
                "effective_from": "2026-11-01", "reason": "broker's letter"}
    done = clerk.post(f"{SSIS}propose/", proposal, follow=True)
    change = ChangeRequest.objects.get()
    assert f"Proposed as change #{change.pk}" in done.content.decode()
    assert [row[3] for row in table_rows(done, "ssi-proposals")] == [change.summary]
    assert not StandingSettlementInstruction.objects.filter(market__mic="XETR").exists()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("depository_bic", "DAKVDEF", "Not a valid BIC"),
    ("counterparty", "NOBODY", "Unknown counterparty"),
    ("effective_to", "2026-10-01", "Must not be before the effective-from date."),
])
def test_a_bad_ssi_proposal_is_shown_on_its_field(clerk, field, value, message):
    proposal = {"counterparty": "BRKR-B", "market": "XETR", "depository_bic": "DAKVDEFF",
                "place_of_settlement_bic": "DAKVDEFF", "agent_bic": "DEUTDEFF", "safekeeping_account": "CBF-7",
                "effective_from": "2026-11-01", "reason": "letter", field: value}
    response = clerk.post(f"{SSIS}propose/", proposal)
    assert response.status_code == 400
    doc = lxml.html.fromstring(response.content.decode())
    errors = doc.xpath(f'//form[@id="ssi-form"]//*[@name="{field}"]/../div[@class="field-error"]')
    assert message in " ".join(e.text_content() for e in errors)
    assert not ChangeRequest.objects.exists()


def test_a_change_is_proposed_from_the_prefilled_form_with_only_what_differs(clerk):
    ssi = StandingSettlementInstruction.objects.get()
    form = clerk.get(f"{SSIS}?change={ssi.pk}")
    assert f"Propose a change to SSI #{ssi.pk}" in form.content.decode()
    doc = lxml.html.fromstring(form.content.decode())
    assert doc.xpath('//form[@id="ssi-form"]//input[@name="safekeeping_account"]/@value') == ["SAFE-1"]
    data = {"id": ssi.pk, "counterparty": "BRKR-B", "market": "XNAS", "depository_bic": "DTCYUS33",
            "place_of_settlement_bic": "DTCYUS33", "agent_bic": "CITIUS33", "safekeeping_account": "SAFE-2",
            "effective_from": "2026-01-01", "effective_to": "", "reason": "new account"}
    clerk.post(f"{SSIS}propose/", data)
    assert ChangeRequest.objects.get().payload == {"id": ssi.pk, "changes": {"safekeeping_account": "SAFE-2"}}
    nothing = clerk.post(f"{SSIS}propose/", {**data, "safekeeping_account": "SAFE-1"})
    assert nothing.status_code == 400 and "The change changes nothing." in nothing.content.decode()


def test_the_admin_proposes_ssis_and_shows_instructions_read_only(desk):
    root = make_user("root", "operations", superuser=True)
    admin = Client()
    admin.force_login(root)
    assert admin.get("/admin/settlements/settlementinstruction/").status_code == 200
    i = instruction(instrument__symbol="AAPL")
    assert admin.get(f"/admin/settlements/settlementinstruction/{i.pk}/change/").status_code == 200
    from records.reference.models import Counterparty, Market

    response = admin.post("/admin/settlements/standingsettlementinstruction/add/", {
        "counterparty": Counterparty.objects.get(code="BRKR-B").pk, "market": Market.objects.get(mic="XETR").pk,
        "depository_bic": "DAKVDEFF", "place_of_settlement_bic": "DAKVDEFF", "agent_bic": "DEUTDEFF",
        "safekeeping_account": "CBF-7", "effective_from": "2026-11-01", "reason": "letter"}, follow=True)
    assert "Submitted for approval as change #" in response.content.decode()
    assert ChangeRequest.objects.get().payload["market"] == "XETR"
    assert StandingSettlementInstruction.objects.count() == 1
    bad = admin.post("/admin/settlements/standingsettlementinstruction/add/", {
        "counterparty": Counterparty.objects.get(code="BRKR-C").pk, "depository_bic": "NOTABIC",
        "place_of_settlement_bic": "DAKVDEFF", "agent_bic": "DEUTDEFF", "safekeeping_account": "X",
        "effective_from": "2026-11-01"})
    assert bad.status_code == 200 and "Not a valid BIC" in bad.content.decode()
    assert ChangeRequest.objects.count() == 1


# --- instructing a trade gross from the queue ---

GROSS = "/settlements/instructions/gross/"


def test_operations_instructs_a_trade_gross_from_the_queue(desk, clerk):
    assert text(clerk.get(QUEUE), "//section[@id='gross']//h2") == "Instruct a trade gross"
    trade_id, = desk.book(("HOUSE", "BRKR-B", "MSFT", "BUY", "5", "415"))

    response = clerk.post(GROSS, {"gross-trade": trade_id, "gross-reason": "late trade"})

    instruction = SettlementInstruction.objects.get(trade_id=trade_id)
    assert response.status_code == 302 and response["Location"] == f"/settlements/instructions/{instruction.pk}/"
    page = clerk.get(response["Location"])
    assert f"Trade {trade_id} is instructed gross: instruction {instruction.pk}." in page.content.decode()


def test_a_trade_that_cannot_settle_gross_is_shown_on_the_form_and_nothing_is_written(desk, clerk):
    before = SettlementInstruction.objects.count()
    for trade_id, says in ((999_999, "Unknown trade 999999."), ("abc", "Enter a whole number.")):
        response = clerk.post(GROSS, {"gross-trade": trade_id})
        assert response.status_code == 400
        assert text(response, "//section[@id='gross']//div[contains(@class, 'field-error')]") == says
    netted = SettlementInstruction.objects.exclude(obligation=None).first().obligation.netted_trades.first()
    response = clerk.post(GROSS, {"gross-trade": netted.trade_id})
    assert response.status_code == 400
    assert "only a booked trade is instructed gross" in text(response, "//section[@id='gross']")
    assert SettlementInstruction.objects.count() == before


def test_readers_see_no_gross_form_and_may_not_post_it(desk):
    reader = Client()
    reader.force_login(make_user("gross-reader", "compliance"))
    assert reader.get(QUEUE).status_code == 200
    assert not text(reader.get(QUEUE), "//section[@id='gross']")
    assert reader.post(GROSS, {"gross-trade": 1}).status_code == 403
